/**
 * The `shopping` behaviour mix: what a simulated member does to the room, through model's
 * room accessors so the documents look like real rooms. Every choice comes from the room's
 * seeded {@link Rng}.
 */
import {
  addComment,
  addLine,
  linesMap,
  removeLine,
  setLineQty,
  setMeta,
  vote,
  type SplitConfig,
} from '@patungan/model';
import type { Rng } from './rng.ts';
import type { SimMember } from './member.ts';
import type { EditKind } from './report-types.ts';

/** Relative weights of the edits in `shopping`. */
export const SHOPPING_MIX: Readonly<Record<EditKind, number>> = {
  add: 25,
  qty: 20,
  remove: 10,
  comment: 20,
  vote: 20,
  split: 5,
};

/** Used when the settlement catalog cannot be read; real rooms use real skus. */
export const FALLBACK_SKUS = [
  'indomie-goreng',
  'teh-botol-sosro',
  'aqua-600ml',
  'kopi-kapal-api',
  'beras-pandan-5kg',
  'minyak-bimoli-2l',
  'gula-pasir-1kg',
  'telur-ayam-10',
  'sambal-abc',
  'kecap-bango',
  'roti-tawar',
  'susu-ultra-1l',
];

const PHRASES = [
  'ini enak banget',
  'yang ini lebih murah',
  'ambil dua aja?',
  'aku nggak suka yang pedas',
  'setuju',
  'jangan lupa minumnya',
  'yang ukuran besar dong',
  'cek stok dulu ya',
  'sudah cukup belum?',
  'mantap',
];

export const NAMES = [
  'Ayu',
  'Budi',
  'Citra',
  'Dewi',
  'Eko',
  'Fajar',
  'Gita',
  'Hadi',
  'Indah',
  'Joko',
];

const MAX_LINES = 12;
const MIN_LINES = 3;

/** Picks the edit actually possible in this document (a remove on an empty cart adds instead). */
export function resolveKind(kind: EditKind, lines: number, isOrganiser: boolean): EditKind {
  if (kind === 'split' && !isOrganiser) return 'comment';
  if (kind === 'add' && lines >= MAX_LINES) return 'remove';
  if (kind === 'remove' && lines <= MIN_LINES) return 'add';
  if (kind === 'qty' && lines === 0) return 'add';
  return kind;
}

function splitConfig(rng: Rng, memberIds: readonly string[]): SplitConfig {
  const mode = rng.pick(['equal', 'items', 'organiser', 'half', 'shares'] as const);
  if (mode === 'half' && memberIds.length > 1) return { mode, partner: memberIds[1]! };
  if (mode === 'shares') {
    return { mode, shares: Object.fromEntries(memberIds.map((id) => [id, rng.int(1, 5)])) };
  }
  return { mode: mode === 'half' ? 'equal' : mode };
}

/**
 * Performs one edit of `kind` (or the closest possible one) as `m`, stamped with the latency
 * probe; returns the kind done.
 */
export function shoppingEdit(
  rng: Rng,
  m: SimMember,
  kind: EditKind,
  skus: readonly string[],
  memberIds: readonly string[],
): EditKind {
  const me = m.spec.memberId;
  const lineIds = [...linesMap(m.doc).keys()];
  const done = resolveKind(kind, lineIds.length, m.spec.role === 'organiser');
  m.edit((doc) => {
    switch (done) {
      case 'add':
        addLine(doc, { sku: rng.pick(skus), qty: rng.int(1, 3), addedBy: me });
        break;
      case 'qty':
        setLineQty(doc, rng.pick(lineIds), rng.int(1, 6));
        break;
      case 'remove':
        removeLine(doc, rng.pick(lineIds));
        break;
      case 'comment': {
        const sku = rng.next() < 0.5 ? rng.pick(skus) : undefined;
        addComment(doc, { by: me, text: rng.pick(PHRASES), ...(sku ? { sku } : {}) });
        break;
      }
      case 'vote':
        vote(doc, rng.pick(skus), me, rng.pick([1, -1, 0] as const));
        break;
      case 'split':
        setMeta(doc, 'split', splitConfig(rng, memberIds));
        break;
    }
  });
  return done;
}

/** A comment-only edit (checkout: the cart is frozen once the room is finalised). */
export function chatEdit(rng: Rng, m: SimMember): EditKind {
  m.edit((doc) => addComment(doc, { by: m.spec.memberId, text: rng.pick(PHRASES) }));
  return 'comment';
}

export function presenceState(rng: Rng, m: SimMember, skus: readonly string[]): unknown {
  return { user: { name: m.spec.name, id: m.spec.memberId }, browsing: rng.pick(skus) };
}
