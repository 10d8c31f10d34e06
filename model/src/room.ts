/**
 * The room document (docs/contracts.md "Room document"): typed accessors over a Y.Doc.
 *
 * Writers go through these functions so that every part agrees on key names and value shapes;
 * readers get plain JSON. Each mutating helper runs in one transaction, with an optional
 * origin so callers (undo managers, the room-server) can tell their own changes apart.
 */
import * as Y from 'yjs';
import { digest as sha256 } from 'lib0/hash/sha256';
import { toBase64 } from 'lib0/buffer';
import { isCurrency } from './money.ts';
import type { SplitConfig, SplitMode } from './split.ts';
// The statuses and payment methods are the settlement contract's vocabulary
// (contracts/vocabulary.ts, exported from this package's index too).
import {
  PAYMENT_METHODS,
  ROOM_STATUSES,
  type PaymentMethod,
  type PaymentStatus,
  type RoomStatus,
  type SettlementStatus,
} from './contracts/vocabulary.ts';

/** Root names in the document. */
export const ROOT = {
  meta: 'meta',
  members: 'members',
  lines: 'lines',
  comments: 'comments',
  votes: 'votes',
  settlement: 'settlement',
  /**
   * The room's history (`ActivityRecord`s, append-only): each writer appends what it did, in
   * its own name, in the same transaction as the change itself.
   */
  activity: 'activity',
} as const;

/**
 * A root only the room-server writes: which member first wrote with each Yjs client id
 * (`String(clientId)` → member id). Not part of the room's data; it keeps one member from
 * writing with another's client id, even while that member is offline.
 */
export const CLIENT_OWNERS_ROOT = 'clients';

/**
 * What one room may hold (docs/contracts.md "Limits"). The room-server refuses a write
 * that passes them, like any other forbidden write; the helpers below refuse it up front.
 */
export const ROOM_LIMITS = {
  /** Encoded document size (`MAX_ROOM_BYTES` on the room-server). */
  roomBytes: 4 * 1024 * 1024,
  /** A comment's text, in characters (UTF-16 code units, as `String.length`). */
  commentChars: 2000,
  /** A cart line's note. */
  noteChars: 500,
  /** A member's display name. */
  nameChars: 200,
  /** A cart line's sku. */
  skuChars: 64,
  /** Members a line is shared with. */
  sharedWith: 100,
} as const;

export interface RoomMeta {
  name: string;
  currency: string;
  organiser: string;
  status: RoomStatus;
  storeId?: string;
  split: SplitConfig;
  /** ISO timestamp. */
  deadline?: string;
  /** Per-member budget in minor units (set by the organiser, member by member). */
  budgets?: Record<string, number>;
  /** The member who collects the order at the store (absent: the organiser). */
  collector?: string;
  /** The budget of every member `budgets` does not name (the room's budget), minor units. */
  budget?: number;
  /** "Patungan lagi": the completed room this one repeats and what changed since (service). */
  again?: { from: string; changes: Record<string, unknown>[] };
}

export interface RoomMember {
  name: string;
  /** Milliseconds since the epoch. */
  joinedAt: number;
  /** Absent means `local`. */
  method?: PaymentMethod;
  /** ISO time the member left or was removed; while set they are not a current member. */
  removedAt?: string;
  /** The member pays the part of their share above their budget themselves (their choice). */
  paysOverage?: boolean;
}

export interface CartLine {
  id: string;
  sku: string;
  qty: number;
  addedBy: string;
  note?: string;
  sharedWith?: string[];
}

export interface RoomComment {
  id: string;
  by: string;
  sku?: string;
  text: string;
  at: number;
}

export interface RoomPayment {
  amount: number;
  currency: string;
  status: PaymentStatus;
  method: PaymentMethod;
  payUrl?: string;
  /** Another member paid this share (`covered`). */
  coveredBy?: string;
}

/** A cover's record in the room: `memberId`'s share was paid by `coveredBy`, who is owed it. */
export interface RoomCover {
  memberId: string;
  coveredBy: string;
  amount: number;
  currency: string;
  at: string;
}

export interface RoomSettlement {
  id?: string;
  status?: SettlementStatus;
  holdExpiresAt?: string;
  payments?: Record<string, RoomPayment>;
  /** The order reference the store's staff see too. */
  orderRef?: string;
  covers?: RoomCover[];
  [extra: string]: unknown;
}

export const metaMap = (doc: Y.Doc) => doc.getMap<unknown>(ROOT.meta);
export const membersMap = (doc: Y.Doc) => doc.getMap<RoomMember>(ROOT.members);
export const linesMap = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>(ROOT.lines);
export const commentsArray = (doc: Y.Doc) => doc.getArray<RoomComment>(ROOT.comments);
export const votesMap = (doc: Y.Doc) => doc.getMap<number>(ROOT.votes);
export const settlementMap = (doc: Y.Doc) => doc.getMap<unknown>(ROOT.settlement);

export class RoomError extends Error {
  constructor(
    readonly code: 'invalid' | 'not_found' | 'locked',
    message: string,
  ) {
    super(message);
    this.name = 'RoomError';
  }
}

let counter = 0;
/** A short id unique enough inside one room (time + counter + random). */
export function newId(prefix = ''): string {
  counter = (counter + 1) % 1_679_616;
  return (
    prefix +
    Date.now().toString(36) +
    counter.toString(36).padStart(4, '0') +
    Math.floor(Math.random() * 1_679_616)
      .toString(36)
      .padStart(4, '0')
  );
}

export interface InitRoomOptions {
  name: string;
  currency: string;
  organiser: string;
  organiserName?: string;
  split?: SplitConfig;
  deadline?: string;
  budgets?: Record<string, number>;
  budget?: number;
  now?: number;
}

/** Initialises `meta` (and the organiser's member entry) once; a second call changes nothing. */
export function initRoom(doc: Y.Doc, o: InitRoomOptions, origin?: unknown): void {
  if (!isCurrency(o.currency)) throw new RoomError('invalid', `unknown currency ${o.currency}`);
  doc.transact(() => {
    const meta = metaMap(doc);
    if (meta.has('status')) return;
    meta.set('name', o.name);
    meta.set('currency', o.currency);
    meta.set('organiser', o.organiser);
    meta.set('split', o.split ?? { mode: 'equal' });
    if (o.deadline) meta.set('deadline', o.deadline);
    if (o.budgets) meta.set('budgets', o.budgets);
    if (o.budget) meta.set('budget', o.budget);
    meta.set('status', 'open');
    if (o.organiserName !== undefined && !membersMap(doc).has(o.organiser)) {
      membersMap(doc).set(o.organiser, { name: o.organiserName, joinedAt: o.now ?? Date.now() });
    }
  }, origin);
}

export function readMeta(doc: Y.Doc): RoomMeta | null {
  const m = metaMap(doc).toJSON() as Partial<RoomMeta>;
  if (!m.organiser) return null;
  return {
    name: m.name ?? '',
    currency: m.currency ?? 'IDR',
    organiser: m.organiser,
    status: roomStatus(doc),
    split: m.split ?? { mode: 'equal' },
    ...(m.storeId ? { storeId: m.storeId } : {}),
    ...(m.deadline ? { deadline: m.deadline } : {}),
    ...(m.budgets ? { budgets: m.budgets } : {}),
    ...(typeof m.collector === 'string' && m.collector ? { collector: m.collector } : {}),
    ...(typeof m.budget === 'number' && m.budget > 0 ? { budget: m.budget } : {}),
    ...(m.again && typeof m.again === 'object' ? { again: m.again } : {}),
  };
}

/** A room with no `meta.status` yet counts as `open`. */
export function roomStatus(doc: Y.Doc): RoomStatus {
  const s = metaMap(doc).get('status');
  return typeof s === 'string' && (ROOM_STATUSES as readonly string[]).includes(s)
    ? (s as RoomStatus)
    : 'open';
}

export function setMeta<K extends keyof RoomMeta>(
  doc: Y.Doc,
  key: K,
  value: RoomMeta[K],
  origin?: unknown,
): void {
  doc.transact(() => metaMap(doc).set(key, value), origin);
}

export function joinMember(
  doc: Y.Doc,
  id: string,
  fullName: string,
  now = Date.now(),
  origin?: unknown,
): void {
  const name = fullName.slice(0, ROOM_LIMITS.nameChars);
  doc.transact(() => {
    const existing = membersMap(doc).get(id);
    if (existing && existing.name === name) return;
    // Keep the other fields (join time, payment method): a rename is not a re-join.
    membersMap(doc).set(id, { ...existing, name, joinedAt: existing?.joinedAt ?? now });
  }, origin);
}

/**
 * Records how a member pays. Members write only their own entry (docs/contracts.md "Write rules"), so
 * this rewrites that entry as a whole; a member who has not joined yet is refused.
 */
export function setMemberMethod(
  doc: Y.Doc,
  id: string,
  method: PaymentMethod,
  origin?: unknown,
): void {
  if (!(PAYMENT_METHODS as readonly string[]).includes(method)) {
    throw new RoomError('invalid', `unknown payment method ${String(method)}`);
  }
  doc.transact(() => {
    const existing = membersMap(doc).get(id);
    if (!existing) throw new RoomError('not_found', `no member ${id}`);
    if (existing.method === method) return;
    membersMap(doc).set(id, { ...existing, method });
  }, origin);
}

/**
 * A member's choice to pay the part of their share above their budget (or not). Only the
 * member may make it (docs/contracts.md "Write rules"); their entry is rewritten as a whole.
 */
export function setPaysOverage(doc: Y.Doc, id: string, pays: boolean, origin?: unknown): void {
  doc.transact(() => {
    const existing = membersMap(doc).get(id);
    if (!existing) throw new RoomError('not_found', `no member ${id}`);
    if (!!existing.paysOverage === pays) return;
    const { paysOverage: _, ...rest } = existing;
    membersMap(doc).set(id, pays ? { ...rest, paysOverage: true } : rest);
  }, origin);
}

/**
 * The budgets part of a split (`SplitConfig.budgets` / `paysOverage`) for these members: each
 * one's budget (`budgets[id]`, else the room's `budget`) and who pays their own overage.
 * Nothing when no member has a budget, so rooms without budgets split (and hash) as before.
 */
export function budgetSplit(
  memberIds: readonly string[],
  budgets: Readonly<Record<string, number>> | undefined,
  roomBudget: number | null | undefined,
  paysOverage: (id: string) => boolean,
): Pick<SplitConfig, 'budgets' | 'paysOverage'> {
  const out: Record<string, number> = {};
  for (const id of memberIds) {
    const b = budgets?.[id] ?? roomBudget;
    if (typeof b === 'number' && Number.isSafeInteger(b) && b > 0) out[id] = b;
  }
  if (Object.keys(out).length === 0) return {};
  const own = memberIds.filter((id) => out[id] !== undefined && paysOverage(id));
  return { budgets: out, ...(own.length ? { paysOverage: own } : {}) };
}

/** Whether `id` has a member entry that is not removed. */
export function isCurrentMember(doc: Y.Doc, id: string): boolean {
  const m = membersMap(doc).get(id) as RoomMember | undefined;
  return typeof m === 'object' && m !== null && !m.removedAt;
}

export function readMembers(doc: Y.Doc): Record<string, RoomMember> {
  return membersMap(doc).toJSON() as Record<string, RoomMember>;
}

/** Member ids in split order: organiser first, then by join time (then id, for equal times). */
export function memberOrder(doc: Y.Doc): string[] {
  const organiser = metaMap(doc).get('organiser');
  const members = readMembers(doc);
  return Object.entries(members)
    .sort(([a, ma], [b, mb]) =>
      a === organiser ? -1 : b === organiser ? 1 : ma.joinedAt - mb.joinedAt || (a < b ? -1 : 1),
    )
    .map(([id]) => id);
}

export interface NewLine {
  sku: string;
  qty: number;
  addedBy: string;
  note?: string;
  sharedWith?: string[];
  id?: string;
}

function checkNote(note: string | undefined): void {
  if (note && note.length > ROOM_LIMITS.noteChars) {
    throw new RoomError('invalid', `a note has at most ${ROOM_LIMITS.noteChars} characters`);
  }
}

function checkQty(qty: number): void {
  if (!Number.isInteger(qty) || qty < 1 || qty > 9999) {
    throw new RoomError('invalid', `quantity must be an integer from 1 to 9999, got ${qty}`);
  }
}

export function addLine(doc: Y.Doc, line: NewLine, origin?: unknown): string {
  checkQty(line.qty);
  checkNote(line.note);
  if (!line.sku || line.sku.length > ROOM_LIMITS.skuChars) {
    throw new RoomError('invalid', `a line needs a sku of 1 to ${ROOM_LIMITS.skuChars} characters`);
  }
  const id = line.id ?? newId('l');
  doc.transact(() => {
    const m = new Y.Map<unknown>();
    m.set('sku', line.sku);
    m.set('qty', line.qty);
    m.set('addedBy', line.addedBy);
    if (line.note) m.set('note', line.note);
    if (line.sharedWith?.length) m.set('sharedWith', [...line.sharedWith]);
    linesMap(doc).set(id, m);
  }, origin);
  return id;
}

function lineMap(doc: Y.Doc, id: string): Y.Map<unknown> {
  const m = linesMap(doc).get(id);
  if (!m) throw new RoomError('not_found', `no line ${id}`);
  return m;
}

export function setLineQty(doc: Y.Doc, id: string, qty: number, origin?: unknown): void {
  checkQty(qty);
  const m = lineMap(doc, id);
  doc.transact(() => m.set('qty', qty), origin);
}

export function setLineNote(doc: Y.Doc, id: string, note: string, origin?: unknown): void {
  checkNote(note);
  const m = lineMap(doc, id);
  doc.transact(() => (note ? m.set('note', note) : m.delete('note')), origin);
}

export function setLineSharedWith(
  doc: Y.Doc,
  id: string,
  sharedWith: readonly string[],
  origin?: unknown,
): void {
  const m = lineMap(doc, id);
  doc.transact(
    () => (sharedWith.length ? m.set('sharedWith', [...sharedWith]) : m.delete('sharedWith')),
    origin,
  );
}

export function removeLine(doc: Y.Doc, id: string, origin?: unknown): void {
  doc.transact(() => linesMap(doc).delete(id), origin);
}

export function readLines(doc: Y.Doc): CartLine[] {
  const out: CartLine[] = [];
  linesMap(doc).forEach((m, id) => {
    if (!(m instanceof Y.Map)) return;
    const sku = m.get('sku');
    const qty = m.get('qty');
    const addedBy = m.get('addedBy');
    if (typeof sku !== 'string' || typeof qty !== 'number' || typeof addedBy !== 'string') return;
    const note = m.get('note');
    const sharedWith = m.get('sharedWith');
    out.push({
      id,
      sku,
      qty,
      addedBy,
      ...(typeof note === 'string' && note ? { note } : {}),
      ...(Array.isArray(sharedWith) && sharedWith.length
        ? { sharedWith: sharedWith.filter((s): s is string => typeof s === 'string') }
        : {}),
    });
  });
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function addComment(
  doc: Y.Doc,
  c: { by: string; text: string; sku?: string; at?: number; id?: string },
  origin?: unknown,
): string {
  const text = c.text.trim();
  if (!text || text.length > ROOM_LIMITS.commentChars)
    throw new RoomError('invalid', `a comment has 1 to ${ROOM_LIMITS.commentChars} characters`);
  const id = c.id ?? newId('c');
  const comment: RoomComment = {
    id,
    by: c.by,
    text,
    at: c.at ?? Date.now(),
    ...(c.sku ? { sku: c.sku } : {}),
  };
  doc.transact(() => commentsArray(doc).push([comment]), origin);
  return id;
}

export function readComments(doc: Y.Doc): RoomComment[] {
  return commentsArray(doc).toArray();
}

export const voteKey = (sku: string, memberId: string) => `${sku}:${memberId}`;

/** Votes +1 / -1, or clears the vote with 0. Keys are flat so concurrent voters never conflict. */
export function vote(
  doc: Y.Doc,
  sku: string,
  memberId: string,
  value: 1 | -1 | 0,
  origin?: unknown,
): void {
  doc.transact(() => {
    const k = voteKey(sku, memberId);
    if (value === 0) votesMap(doc).delete(k);
    else votesMap(doc).set(k, value);
  }, origin);
}

/** Score per sku, and each member's vote: `{ sku: { score, byMember } }`. */
export function readVotes(
  doc: Y.Doc,
): Record<string, { score: number; byMember: Record<string, number> }> {
  const out: Record<string, { score: number; byMember: Record<string, number> }> = {};
  votesMap(doc).forEach((v, k) => {
    const i = k.lastIndexOf(':');
    if (i <= 0 || (v !== 1 && v !== -1)) return;
    const sku = k.slice(0, i);
    const member = k.slice(i + 1);
    const entry = (out[sku] ??= { score: 0, byMember: {} });
    entry.score += v;
    entry.byMember[member] = v;
  });
  return out;
}

/**
 * One thing a member did, as the room's history keeps it. Lines are named by id and sku (the
 * line itself may be gone); text is a copy (bounded like the original).
 */
export type ActivityAction =
  | { type: 'added'; line: string; sku: string; qty: number }
  | { type: 'qty'; line: string; sku: string; from: number; to: number }
  | { type: 'removed'; line: string; sku: string; qty: number }
  | { type: 'note'; line: string; sku: string; note: string }
  | { type: 'shared'; line: string; sku: string; count: number }
  | { type: 'voted'; sku: string; value: 1 | -1 | 0 }
  | { type: 'status'; status: 'open' | 'locked' }
  | { type: 'split'; mode: SplitMode }
  | { type: 'store'; storeId: string }
  | { type: 'finalised' };

export type ActivityType = ActivityAction['type'];
export const ACTIVITY_TYPES: readonly ActivityType[] = [
  'added',
  'qty',
  'removed',
  'note',
  'shared',
  'voted',
  'status',
  'split',
  'store',
  'finalised',
];
/** Kinds that describe cart changes: like the cart itself, writable only while `open`. */
export const CART_ACTIVITY_TYPES: readonly ActivityType[] = [
  'added',
  'qty',
  'removed',
  'note',
  'shared',
  'voted',
];

/** An entry of the `activity` root: who (`by`, a member id), when (ms since the epoch), what. */
export type ActivityRecord = ActivityAction & { id: string; by: string; at: number };

export const activityArray = (doc: Y.Doc) => doc.getArray<ActivityRecord>(ROOT.activity);

/** Appends what `by` did (one transaction; nothing for an empty list). */
export function recordActivity(
  doc: Y.Doc,
  by: string,
  actions: readonly ActivityAction[],
  at = Date.now(),
  origin?: unknown,
): void {
  if (actions.length === 0) return;
  const records = actions.map((a): ActivityRecord => ({
    ...a,
    ...(a.type === 'note' ? { note: a.note.slice(0, ROOM_LIMITS.noteChars) } : {}),
    id: newId('a'),
    by,
    at,
  }));
  doc.transact(() => activityArray(doc).push(records), origin);
}

/** The history, oldest first; entries that do not have the shape are skipped. */
export function readActivity(doc: Y.Doc): ActivityRecord[] {
  return activityArray(doc)
    .toArray()
    .filter(
      (r): r is ActivityRecord =>
        typeof r === 'object' &&
        r !== null &&
        typeof r.id === 'string' &&
        typeof r.by === 'string' &&
        typeof r.at === 'number' &&
        (ACTIVITY_TYPES as readonly string[]).includes(r.type),
    );
}

export function readSettlement(doc: Y.Doc): RoomSettlement {
  return settlementMap(doc).toJSON() as RoomSettlement;
}

export interface CartSnapshot {
  roomId: string;
  currency: string;
  organiser: string;
  storeId: string | null;
  split: SplitConfig;
  /** In split order (organiser first, then by join time). */
  members: { id: string; name: string }[];
  /** Sorted by line id. */
  lines: CartLine[];
  /** Who collects at the store, when not the organiser (`meta.collector`, a current member). */
  collector?: string;
  /** Stable hash of everything above but `cartVersion` itself. */
  cartVersion: string;
}

/** Canonical JSON: object keys sorted, so equal states hash equally on every client. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function hashJson(v: unknown): string {
  return toBase64(sha256(new TextEncoder().encode(canonicalJson(v))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
    .slice(0, 22);
}

/** The plain JSON of the cart that settlement receives, with its stable version hash. */
export function cartSnapshot(doc: Y.Doc, roomId: string): CartSnapshot {
  const meta = readMeta(doc);
  const members = readMembers(doc);
  // who left or was removed pays no share (docs/contracts.md "Leaving and removal")
  const current = memberOrder(doc).filter((id) => !members[id]?.removedAt);
  const body = {
    roomId,
    currency: meta?.currency ?? 'IDR',
    organiser: meta?.organiser ?? '',
    storeId: meta?.storeId ?? null,
    split: {
      ...(meta?.split ?? { mode: 'equal' as const }),
      ...budgetSplit(current, meta?.budgets, meta?.budget, (id) => !!members[id]?.paysOverage),
    },
    members: current.map((id) => ({ id, name: members[id]?.name ?? id })),
    lines: readLines(doc),
    ...(meta?.collector && meta.collector !== meta.organiser && members[meta.collector]
      ? { collector: meta.collector }
      : {}),
  };
  return { ...body, cartVersion: hashJson(body) };
}
