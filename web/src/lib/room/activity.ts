/**
 * The activity feed: the room's history, read from the durable room document so that it is the
 * same on every device and survives a reload.
 *
 * - What members did to the cart and the room's settings is in the `activity` root: each page
 *   appends, in its own name, what its own write changed (`diffActivity` between a snapshot
 *   before and after the write, in the same transaction), so a removal names who removed.
 * - Comments (`comments`, with `by` and `at`) and who joined (`members[*].joinedAt`) are
 *   already durable and read as they are.
 * - Payments come from the `settlement` map the service writes: who paid, who covered whom,
 *   who pays at the store, whose payment was declined. The map keeps each payment's current
 *   status, not when it changed, so these entries carry no time; they follow the finalise.
 */
import * as Y from 'yjs';
import {
  linesMap,
  memberOrder,
  metaMap,
  readActivity,
  readComments,
  readMembers,
  readSettlement,
  votesMap,
  type ActivityAction,
  type PaymentStatus,
  type SettlementStatus,
  type SplitMode,
} from '@patungan/model';

export type ActivityKind =
  | ActivityAction
  | { type: 'commented'; sku?: string; text: string }
  | { type: 'joined' }
  | { type: 'settlement'; status: SettlementStatus }
  | {
      type: 'payment';
      member: string;
      status: PaymentStatus;
      amount: number;
      currency: string;
      coveredBy?: string;
    };

export interface ActivityEntry {
  /** Stable across rebuilds and devices (a record's id, `c:<comment>`, `j:<member>`, …). */
  id: string;
  /** Ms since the epoch; null where the document does not say (payments). */
  at: number | null;
  /** Member id of who did it; null for the service (settlement status). */
  actor: string | null;
  kind: ActivityKind;
}

// ---- recording --------------------------------------------------------------------------------

interface LineState {
  sku: string;
  qty: number;
  note: string;
  shared: number;
}

/** What a write by `me` can change that the history records. */
export interface ActivitySnapshot {
  lines: Map<string, LineState>;
  votes: Map<string, number>;
  status: string;
  split: string;
  storeId: string;
}

export function snapshotForActivity(doc: Y.Doc, me: string): ActivitySnapshot {
  const lines = new Map<string, LineState>();
  linesMap(doc).forEach((m, id) => {
    if (!(m instanceof Y.Map)) return;
    const sku: unknown = m.get('sku');
    const qty: unknown = m.get('qty');
    if (typeof sku !== 'string' || typeof qty !== 'number') return;
    const note: unknown = m.get('note');
    const sw: unknown = m.get('sharedWith');
    lines.set(id, {
      sku,
      qty,
      note: typeof note === 'string' ? note : '',
      shared: Array.isArray(sw) ? sw.length : 0,
    });
  });
  const votes = new Map<string, number>();
  const suffix = `:${me}`;
  votesMap(doc).forEach((v, k) => {
    if (k.endsWith(suffix)) votes.set(k.slice(0, -suffix.length), v);
  });
  const meta = metaMap(doc);
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    lines,
    votes,
    status: str(meta.get('status')),
    split: JSON.stringify(meta.get('split') ?? null),
    storeId: str(meta.get('storeId')),
  };
}

/** What changed between two snapshots, as history entries. */
export function diffActivity(
  a: ActivitySnapshot,
  b: ActivitySnapshot,
  doc: Y.Doc,
): ActivityAction[] {
  const out: ActivityAction[] = [];
  for (const [line, was] of a.lines) {
    const now = b.lines.get(line);
    if (!now) {
      out.push({ type: 'removed', line, sku: was.sku, qty: was.qty });
      continue;
    }
    if (now.qty !== was.qty)
      out.push({ type: 'qty', line, sku: now.sku, from: was.qty, to: now.qty });
    if (now.note !== was.note && now.note)
      out.push({ type: 'note', line, sku: now.sku, note: now.note });
    if (now.shared !== was.shared)
      out.push({ type: 'shared', line, sku: now.sku, count: now.shared });
  }
  for (const [line, now] of b.lines) {
    if (!a.lines.has(line)) out.push({ type: 'added', line, sku: now.sku, qty: now.qty });
  }
  const skus = new Set([...a.votes.keys(), ...b.votes.keys()]);
  for (const sku of skus) {
    const v = b.votes.get(sku) ?? 0;
    if (v !== (a.votes.get(sku) ?? 0))
      out.push({ type: 'voted', sku, value: v > 0 ? 1 : v < 0 ? -1 : 0 });
  }
  if (b.status !== a.status && (b.status === 'open' || b.status === 'locked'))
    out.push({ type: 'status', status: b.status });
  if (b.split !== a.split) {
    const mode = (metaMap(doc).get('split') as { mode?: SplitMode } | undefined)?.mode;
    if (mode) out.push({ type: 'split', mode });
  }
  if (b.storeId !== a.storeId && b.storeId) out.push({ type: 'store', storeId: b.storeId });
  return out;
}

// ---- reading ----------------------------------------------------------------------------------

/** Payment statuses worth a line in the history (pending is not news). */
const NEWSWORTHY: ReadonlySet<PaymentStatus> = new Set([
  'authorized',
  'captured',
  'covered',
  'due_at_store',
  'declined',
  'voided',
  'refunded',
]);

/** The whole feed from the document, newest first, at most `limit` entries. */
export function readFeed(doc: Y.Doc, limit = 100): ActivityEntry[] {
  const timed: ActivityEntry[] = [];
  for (const r of readActivity(doc)) {
    const { id, by, at, ...kind } = r;
    timed.push({ id, at, actor: by, kind: kind as ActivityAction });
  }
  for (const c of readComments(doc)) {
    if (typeof c?.by !== 'string' || typeof c.at !== 'number') continue;
    timed.push({
      id: `c:${c.id}`,
      at: c.at,
      actor: c.by,
      kind: { type: 'commented', text: c.text, ...(c.sku ? { sku: c.sku } : {}) },
    });
  }
  const members = readMembers(doc);
  // Member order, not the map's: a Y.Map iterates in the order this device integrated the
  // entries, so two devices would order equal times (and the payments below) differently.
  const order = memberOrder(doc);
  for (const id of order) {
    const m = members[id];
    if (typeof m?.joinedAt !== 'number') continue;
    timed.push({ id: `j:${id}`, at: m.joinedAt, actor: id, kind: { type: 'joined' } });
  }
  // Oldest first for now; equal times keep document order (a stable sort).
  timed.sort((x, y) => (x.at ?? 0) - (y.at ?? 0));

  const s = readSettlement(doc);
  const money: ActivityEntry[] = [];
  if (s.id && s.status) {
    const payments = Object.entries(s.payments ?? {}).sort(
      ([a], [b]) => order.indexOf(a) - order.indexOf(b),
    );
    for (const [member, p] of payments) {
      if (!p || !NEWSWORTHY.has(p.status)) continue;
      const coveredBy = (p as { coveredBy?: unknown }).coveredBy;
      money.push({
        id: `p:${s.id}:${member}:${p.status}`,
        at: null,
        actor: p.status === 'covered' && typeof coveredBy === 'string' ? coveredBy : member,
        kind: {
          type: 'payment',
          member,
          status: p.status,
          amount: p.amount,
          currency: p.currency,
          ...(typeof coveredBy === 'string' ? { coveredBy } : {}),
        },
      });
    }
    money.push({
      id: `s:${s.id}:${s.status}`,
      at: null,
      actor: null,
      kind: { type: 'settlement', status: s.status },
    });
    // The settlement's entries follow the organiser's last finalise (or close the history).
    let after = timed.length;
    for (let i = timed.length - 1; i >= 0; i--) {
      if (timed[i]!.kind.type === 'finalised') {
        after = i + 1;
        break;
      }
    }
    timed.splice(after, 0, ...money);
  }
  return timed.reverse().slice(0, limit);
}

/** Keeps `readFeed` current as the document changes (one rebuild per burst of updates). */
export class ActivityFeed {
  entries: ActivityEntry[] = [];
  private listeners = new Set<(entries: ActivityEntry[]) => void>();
  private scheduled = false;
  private readonly limit: number;

  constructor(
    private readonly doc: Y.Doc,
    opts: { limit?: number } = {},
  ) {
    this.limit = opts.limit ?? 100;
    this.entries = readFeed(doc, this.limit);
    doc.on('update', this.onUpdate);
  }

  destroy(): void {
    this.doc.off('update', this.onUpdate);
    this.listeners.clear();
  }

  subscribe(fn: (entries: ActivityEntry[]) => void): () => void {
    this.listeners.add(fn);
    fn(this.entries);
    return () => this.listeners.delete(fn);
  }

  private onUpdate = (): void => {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.entries = readFeed(this.doc, this.limit);
      for (const fn of this.listeners) fn(this.entries);
    });
  };
}
