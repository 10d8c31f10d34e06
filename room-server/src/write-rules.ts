/**
 * Write rules (docs/contracts.md "Room document"): who may change which part of the room document.
 *
 * The check runs on the transaction that applying a connection's update produced, inside
 * `afterTransaction` (before Yjs garbage-collects what the transaction deleted). It reads only
 * what the transaction changed — `transaction.changed` (type → changed map keys) — so an allowed
 * update costs a walk over the one or two types it touched. Only a refusal reads old values
 * (`YMapEvent.changes.keys`) or scans the delete set.
 *
 * The result says how to revert exactly the refused parts:
 * - `writeBacks`: a refused change of a root map key holding plain JSON is reverted by writing
 *   the old value back (or deleting a key the update added);
 * - `undo`: types whose every change in this transaction is undone by a `Y.UndoManager` fed
 *   only this transaction (a whole root for a member's cart edit in a locked room, or one
 *   nested Y type such as another member's entry);
 * - `restore`: types whose deletions are restored while their insertions stay (comments are
 *   append-only for members: a new comment stays, a deleted one comes back);
 * - `remove`: items this transaction inserted into an array that are deleted again (a comment
 *   in someone else's name or over the length limit; the others of the same update stay).
 *
 * Attribution is the writer's (docs/contracts.md "Write rules"): a new line carries `addedBy` = the
 * writer, a new comment `by` = the writer, `sharedWith` names only current members, and
 * `addedBy` of an existing line never changes. Free text is bounded (`ROOM_LIMITS` in model),
 * and when the room is full (`growth`) only deletions pass.
 */
import * as Y from 'yjs';
import {
  ACTIVITY_TYPES,
  CART_ACTIVITY_TYPES,
  ROOM_LIMITS,
  ROOT,
  ROOM_STATUSES,
} from '@patungan/model';
import type { Role, RoomStatus } from '@patungan/model';

/** Who is writing: the verified claims of a connection or of a service call. */
export interface Principal {
  /** Member id (`sub`), or the service's name. */
  id: string;
  role: Role;
  name: string;
}

export interface WriteBack {
  map: Y.Map<unknown>;
  key: string;
  /** Whether the key existed before the refused write (else the revert deletes it). */
  had: boolean;
  value: unknown;
}

export interface WriteCheck {
  /** Readable reasons, for the permission-denied message and the logs. */
  reasons: Set<string>;
  undo: Set<AnyType>;
  restore: Set<AnyType>;
  writeBacks: WriteBack[];
  remove: Map<Y.Array<unknown>, InsertedItem[]>;
}

// Yjs types are generic in their event type; the rules handle every kind of type alike.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyType = Y.AbstractType<any>;

const SCHEMA_ROOTS = new Set<string>(Object.values(ROOT));

export const REASON = {
  settlement: 'only the settlement service writes the settlement',
  meta: 'only the organiser changes the room settings',
  status: 'the organiser can only lock or reopen the room',
  members: 'members can only change their own entry',
  votes: 'you can only cast your own vote',
  comments: 'comments cannot be changed or deleted',
  staff: 'store staff cannot write to a room',
  unknown: 'this part of the room document is not writable',
  addedBy: 'a new cart line must be added in your own name (addedBy)',
  addedByChange: 'who added a cart line (addedBy) cannot change',
  sharedWith: `sharedWith may name only current members (at most ${ROOM_LIMITS.sharedWith})`,
  line: `a cart line needs a sku of 1 to ${ROOM_LIMITS.skuChars} characters, a qty and addedBy`,
  note: `a line note has at most ${ROOM_LIMITS.noteChars} characters`,
  name: `a member name has at most ${ROOM_LIMITS.nameChars} characters`,
  removeOrganiser: 'removedAt is an ISO time, and the organiser cannot be removed',
  readmit: 'only the organiser can take a member back in (clear removedAt)',
  commentBy: 'a comment must be written in your own name (by)',
  paysOverage: 'only a member chooses to pay their own overage (paysOverage: true or absent)',
  activity: 'the history is append-only, each entry in your own name, of a kind you may do',
  comment: `a comment is {id, by, text, at} with a text of 1 to ${ROOM_LIMITS.commentChars.toLocaleString('en')} characters`,
} as const;

/** The reason given when the room's document would pass its size limit. */
export const sizeReason = (maxBytes: number): string =>
  `the room is full (its document may hold ${maxBytes.toLocaleString('en')} bytes): delete something first`;

export function lockedReason(status: RoomStatus): string {
  return status === 'locked'
    ? 'room is locked'
    : status === 'settling'
      ? 'room is being settled'
      : 'room is completed';
}

const isStatus = (s: unknown): s is RoomStatus =>
  typeof s === 'string' && (ROOM_STATUSES as readonly string[]).includes(s);

/** The root type above `type`, and the child of that root that contains `type` (if nested). */
function top(type: AnyType): { root: AnyType; child: AnyType | null } {
  let t = type;
  let child: AnyType | null = null;
  while (t._item !== null) {
    child = t;
    t = t._item.parent as AnyType;
  }
  return { root: t, child };
}

/** The key under which a direct child of a root map sits. */
const keyOf = (child: AnyType): string | null => child._item?.parentSub ?? null;

/** The `YMapEvent` the transaction produced for a root map (present for every changed YMap). */
function mapEvent(tr: Y.Transaction, map: AnyType): Y.YMapEvent<unknown> | undefined {
  const events = tr.changedParentTypes.get(map);
  return events?.find((e) => e.target === map) as Y.YMapEvent<unknown> | undefined;
}

class Check implements WriteCheck {
  reasons = new Set<string>();
  undo = new Set<AnyType>();
  restore = new Set<AnyType>();
  writeBacks: WriteBack[] = [];
  remove = new Map<Y.Array<unknown>, InsertedItem[]>();
  constructor(private readonly tr: Y.Transaction) {}

  /** Deletes an item this transaction inserted into an array (no undo manager involved). */
  removeItem(array: Y.Array<unknown>, item: Y.Item, reason: string): void {
    this.reasons.add(reason);
    if (this.undo.has(array)) return;
    let items = this.remove.get(array);
    if (!items) this.remove.set(array, (items = []));
    const { client, clock } = item.id;
    if (!items.some((i) => i.client === client && i.clock === clock)) {
      items.push({ client, clock, length: item.length });
    }
  }

  refuseType(type: AnyType, reason: string): void {
    this.undo.add(type);
    this.reasons.add(reason);
  }

  /** Reverts one key of a root map: write the old value back, or undo the whole root. */
  refuseKey(map: AnyType, key: string, reason: string): void {
    this.reasons.add(reason);
    if (this.undo.has(map)) return;
    const change = mapEvent(this.tr, map)?.changes.keys.get(key);
    if (!change) return; // changed and changed back inside the update: nothing to revert
    if (this.writeBacks.some((w) => w.map === map && w.key === key)) return;
    const had = change.action !== 'add';
    const value: unknown = change.oldValue;
    if (
      !(map instanceof Y.Map) ||
      (had && (value instanceof Y.AbstractType || value instanceof Y.Doc))
    ) {
      // A Y type cannot be written back; undo every change of this root instead (coarser, and
      // only reachable with documents that break the schema, where roots hold plain JSON).
      this.undo.add(map);
      this.writeBacks = this.writeBacks.filter((w) => w.map !== map);
      if (map instanceof Y.Array) this.remove.delete(map);
      return;
    }
    this.writeBacks.push({ map: map as Y.Map<unknown>, key, had, value });
  }

  /**
   * Refuses one entry of `transaction.changed`: a nested type is undone as a whole; keys of
   * a root map are written back one by one (cheap: no undo manager); anything else undoes
   * the root.
   */
  refuseChange(
    root: AnyType,
    child: AnyType | null,
    keys: Set<string | null>,
    reason: string,
  ): void {
    if (child) this.refuseType(child, reason);
    else if (root instanceof Y.Map) for (const k of keys) this.refuseKey(root, k ?? '', reason);
    else this.refuseType(root, reason);
  }

  get refused(): boolean {
    return this.reasons.size > 0;
  }
}

/** Status before this transaction: a member cannot change it, but read it as it was anyway. */
function statusBefore(tr: Y.Transaction, meta: Y.Map<unknown>): RoomStatus {
  const keys = tr.changed.get(meta as AnyType);
  let s: unknown = meta.get('status');
  if (keys?.has('status')) {
    const change = mapEvent(tr, meta)?.changes.keys.get('status');
    if (change) s = change.action === 'add' ? undefined : change.oldValue;
  }
  return isStatus(s) ? s : 'open';
}

/** Whether this transaction deleted any item directly inside `array`. */
function deletesIn(tr: Y.Transaction, array: AnyType): boolean {
  if (tr.deleteSet.clients.size === 0) return false;
  let found = false;
  Y.iterateDeletedStructs(tr, tr.deleteSet, (s) => {
    if (!found && s instanceof Y.Item && s.parent === array) found = true;
  });
  return found;
}

/** Items this transaction inserted directly into `parent` (and that are still there). */
function insertedIn(tr: Y.Transaction, parent: AnyType): Y.Item[] {
  const out: Y.Item[] = [];
  const store = tr.doc.store;
  for (const [client, after] of tr.afterState) {
    const before = tr.beforeState.get(client) ?? 0;
    if (after <= before) continue;
    const structs = store.clients.get(client);
    if (!structs) continue;
    for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
      const s = structs[i]!;
      if (s.id.clock >= after) break;
      if (s instanceof Y.Item && !s.deleted && s.parent === parent && s.parentSub === null) {
        out.push(s);
      }
    }
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why one comment may not be added by `who`, or null. */
function commentProblem(c: unknown, who: Principal): string | null {
  if (!isObject(c) || typeof c.text !== 'string') return REASON.comment;
  if (c.by !== who.id) return REASON.commentBy;
  const len = c.text.trim().length;
  if (len === 0 || c.text.length > ROOM_LIMITS.commentChars) return REASON.comment;
  return null;
}

/** Activity kinds only the organiser does (room settings, finalise). */
const ORGANISER_ACTIVITY = new Set<string>(
  ACTIVITY_TYPES.filter((t) => !CART_ACTIVITY_TYPES.includes(t)),
);
const CART_ACTIVITY = new Set<string>(CART_ACTIVITY_TYPES);
const ACTIVITY = new Set<string>(ACTIVITY_TYPES);
/** An activity entry's JSON, at most (a note copy of 500 characters fits with room to spare). */
const ACTIVITY_CHARS = 1000;

/** The rules a writer (member or organiser) must follow in the cart, the members and comments. */
class Attribution {
  constructor(
    private readonly tr: Y.Transaction,
    private readonly who: Principal,
    private readonly check: () => Check,
  ) {}

  /**
   * Whether `id` is a current member: present in `members` and not removed. A member entry
   * this very update wrote counts only when the writer may write it (the organiser any, a
   * member their own); entries it is refused are judged as they were before.
   */
  private current(id: string): boolean {
    const members = this.tr.doc.getMap<unknown>(ROOT.members);
    let entry: unknown = members.get(id);
    const mayWrite = this.who.role === 'organiser' || id === this.who.id;
    if (!mayWrite && this.tr.changed.get(members as AnyType)?.has(id)) {
      const change = mapEvent(this.tr, members)?.changes.keys.get(id);
      if (change) entry = change.action === 'add' ? undefined : change.oldValue;
    }
    return isObject(entry) && !entry.removedAt;
  }

  private sharedWithOk(v: unknown): boolean {
    if (v === undefined) return true;
    return (
      Array.isArray(v) &&
      v.length <= ROOM_LIMITS.sharedWith &&
      v.every((m) => typeof m === 'string' && this.current(m))
    );
  }

  private noteOk(v: unknown): boolean {
    return v === undefined || (typeof v === 'string' && v.length <= ROOM_LIMITS.noteChars);
  }

  /** Why a line this update put under a key of `lines` is not the writer's to add, or null. */
  private newLineProblem(line: unknown): string | null {
    if (!(line instanceof Y.Map)) return REASON.line;
    const sku: unknown = line.get('sku');
    if (typeof sku !== 'string' || sku.length === 0 || sku.length > ROOM_LIMITS.skuChars)
      return REASON.line;
    if (typeof line.get('qty') !== 'number') return REASON.line;
    if (line.get('addedBy') !== this.who.id) return REASON.addedBy;
    if (!this.sharedWithOk(line.get('sharedWith'))) return REASON.sharedWith;
    if (!this.noteOk(line.get('note'))) return REASON.note;
    return null;
  }

  lines(root: AnyType, child: AnyType | null, type: AnyType, keys: Set<string | null>): void {
    if (type === root && root instanceof Y.Map) {
      for (const k of keys) {
        if (k === null || !root.has(k)) continue; // a removed line
        const problem = this.newLineProblem(root.get(k));
        if (problem) this.check().refuseKey(root, k, problem);
      }
    } else if (child && type === child && child instanceof Y.Map) {
      for (const k of keys) {
        if (k === 'addedBy') this.check().refuseKey(child, k, REASON.addedByChange);
        else if (k === 'sharedWith' && !this.sharedWithOk(child.get(k)))
          this.check().refuseKey(child, k, REASON.sharedWith);
        else if (k === 'note' && !this.noteOk(child.get(k)))
          this.check().refuseKey(child, k, REASON.note);
        else if (k === 'sku') {
          const sku: unknown = child.get(k);
          if (typeof sku !== 'string' || sku.length === 0 || sku.length > ROOM_LIMITS.skuChars)
            this.check().refuseKey(child, k, REASON.line);
        }
      }
    }
  }

  /**
   * Member entries this update wrote (the entries' owners are checked elsewhere): names are
   * bounded; `removedAt` (docs/contracts.md "Leaving and removal") is set by the organiser or
   * the member, cleared or changed only by the organiser, and never set on the organiser.
   */
  members(root: AnyType, keys: Set<string | null>): void {
    if (!(root instanceof Y.Map)) return;
    const organiser: unknown = this.tr.doc.getMap<unknown>(ROOT.meta).get('organiser');
    for (const k of keys) {
      if (k === null) continue;
      const v: unknown = root.get(k);
      if (isObject(v) && typeof v.name === 'string' && v.name.length > ROOM_LIMITS.nameChars) {
        this.check().refuseKey(root, k, REASON.name);
        continue;
      }
      if (this.paysOverageProblem(root, k, v)) {
        this.check().refuseKey(root, k, REASON.paysOverage);
        continue;
      }
      const removedAt = isObject(v) ? v.removedAt : undefined;
      if (removedAt !== undefined && (typeof removedAt !== 'string' || k === organiser)) {
        this.check().refuseKey(root, k, REASON.removeOrganiser);
        continue;
      }
      if (this.who.role === 'organiser') continue;
      const change = mapEvent(this.tr, root)?.changes.keys.get(k);
      const before: unknown = change && change.action !== 'add' ? change.oldValue : undefined;
      const was = isObject(before) ? before.removedAt : undefined;
      if (was && was !== removedAt) this.check().refuseKey(root, k, REASON.readmit);
    }
  }

  /** Paying one's own overage is the member's own choice: no one else sets or clears it. */
  private paysOverageProblem(root: Y.Map<unknown>, k: string, v: unknown): boolean {
    if (!isObject(v)) return false;
    const after = v.paysOverage;
    if (after !== undefined && after !== true) return true;
    if (k === this.who.id) return false;
    const change = mapEvent(this.tr, root)?.changes.keys.get(k);
    const old: unknown = change && change.action !== 'add' ? change.oldValue : undefined;
    const before = isObject(old) ? old.paysOverage : undefined;
    return before !== after;
  }

  /**
   * New history entries (`activity`): in the writer's own name, of a known kind, bounded; a
   * member's only of cart kinds, and those only while the cart is open (`open`: the status
   * before the transaction).
   */
  activity(root: AnyType, open: boolean): void {
    if (!(root instanceof Y.Array)) return;
    const member = this.who.role === 'member';
    for (const item of insertedIn(this.tr, root)) {
      let problem: string | null = null;
      if (!(item.content instanceof Y.ContentAny)) problem = REASON.activity;
      else {
        for (const r of item.content.getContent()) {
          if (
            !isObject(r) ||
            r.by !== this.who.id ||
            typeof r.type !== 'string' ||
            !ACTIVITY.has(r.type) ||
            (member && ORGANISER_ACTIVITY.has(r.type)) ||
            JSON.stringify(r).length > ACTIVITY_CHARS
          ) {
            problem = REASON.activity;
          } else if (member && !open && CART_ACTIVITY.has(r.type)) {
            problem = REASON.activity;
          }
          if (problem) break;
        }
      }
      if (problem) this.check().removeItem(root as Y.Array<unknown>, item, problem);
    }
  }

  /** New comments: in the writer's own name, within the length limit. */
  comments(root: AnyType): void {
    if (!(root instanceof Y.Array)) return;
    for (const item of insertedIn(this.tr, root)) {
      let problem: string | null = null;
      if (!(item.content instanceof Y.ContentAny)) problem = REASON.comment;
      else {
        for (const c of item.content.getContent()) {
          problem = commentProblem(c, this.who);
          if (problem) break;
        }
      }
      if (problem) this.check().removeItem(root as Y.Array<unknown>, item, problem);
    }
  }
}

/**
 * An item a refused transaction inserted, by id: the `Item` object itself may be merged into
 * its left neighbour when the transaction is cleaned up.
 */
export interface InsertedItem {
  client: number;
  clock: number;
  length: number;
}

/**
 * Deletes `items` (inserted into `array` by a refused transaction) by index, in the revert's
 * transaction: deleted this way their content is garbage-collected at once (an undo manager
 * would keep it, and the refused bytes with it).
 */
export function removeInserted(array: Y.Array<unknown>, items: Iterable<InsertedItem>): void {
  const targets = [...items];
  const ranges: [number, number][] = [];
  let index = 0;
  for (let it = array._start; it !== null; it = it.right) {
    if (it.deleted || !it.countable) continue;
    const { client, clock } = it.id;
    for (const t of targets) {
      if (t.client !== client) continue;
      const start = Math.max(clock, t.clock);
      const end = Math.min(clock + it.length, t.clock + t.length);
      if (start < end) ranges.push([index + start - clock, end - start]);
    }
    index += it.length;
  }
  ranges.sort((a, b) => b[0] - a[0]);
  for (const [at, length] of ranges) array.delete(at, length);
}

/** Refuses what a transaction added (keeping its deletions): the room is full. */
function refuseGrowth(tr: Y.Transaction, check: Check, reason: string): void {
  for (const [type, keys] of tr.changed) {
    if (type instanceof Y.Map) {
      for (const k of keys) if (k !== null && type.has(k)) check.refuseKey(type, k, reason);
    } else if (type instanceof Y.Array) {
      for (const item of insertedIn(tr, type)) check.removeItem(type, item, reason);
    } else {
      check.refuseType(type, reason);
    }
  }
}

/**
 * Checks one applied transaction against the write rules for `who`. Returns null when every
 * change is allowed (the common case), else what to revert and why.
 */
export function checkWrites(
  tr: Y.Transaction,
  who: Principal,
  /**
   * The room is full: refuse everything this transaction added, with this reason, and keep
   * its deletions (every role; staff is refused anyway).
   */
  growth: string | null = null,
): WriteCheck | null {
  // Allocated on the first refusal only: an allowed update (the common case) allocates
  // nothing but this one closure.
  let lazy: Check | null = null;
  const check = () => (lazy ??= new Check(tr));
  if (growth && who.role !== 'staff') refuseGrowth(tr, check(), growth);
  if (who.role === 'service') return (lazy as Check | null)?.refused ? lazy : null;
  let attr: Attribution | null = null;
  const attribution = () => (attr ??= new Attribution(tr, who, check));
  const doc = tr.doc;
  let open: RoomStatus | null = null;
  const roomStatus = () => (open ??= statusBefore(tr, doc.getMap(ROOT.meta)));
  const ownVoteSuffix = `:${who.id}`;

  for (const [type, keys] of tr.changed) {
    const { root, child } = top(type);
    const name = Y.findRootTypeKey(root);
    if (who.role === 'staff') {
      check().refuseChange(root, child, keys, REASON.staff);
      continue;
    }
    if (who.role === 'organiser') {
      if (name === ROOT.settlement) check().refuseChange(root, child, keys, REASON.settlement);
      else if (!SCHEMA_ROOTS.has(name)) {
        check().refuseChange(root, child, keys, REASON.unknown);
      } else if (name === ROOT.meta && type === root && keys.has('status')) {
        const before = roomStatus();
        const after = (root as Y.Map<unknown>).get('status');
        const ok =
          (before === 'open' || before === 'locked') && (after === 'open' || after === 'locked');
        if (!ok) check().refuseKey(root, 'status', REASON.status);
      } else if (name === ROOT.lines) attribution().lines(root, child, type, keys);
      else if (name === ROOT.members && type === root) attribution().members(root, keys);
      else if (name === ROOT.comments && type === root) attribution().comments(root);
      else if (name === ROOT.activity && type === root) attribution().activity(root, true);
      continue;
    }
    // member
    switch (name) {
      case ROOT.lines: {
        const s = roomStatus();
        if (s !== 'open') check().refuseChange(root, child, keys, lockedReason(s));
        else attribution().lines(root, child, type, keys);
        break;
      }
      case ROOT.votes: {
        const s = roomStatus();
        if (s !== 'open') {
          check().refuseChange(root, child, keys, lockedReason(s));
        } else if (child) {
          if (!keyOf(child)?.endsWith(ownVoteSuffix)) check().refuseType(child, REASON.votes);
        } else {
          for (const k of keys) {
            if (k === null || !k.endsWith(ownVoteSuffix))
              check().refuseKey(root, k ?? '', REASON.votes);
          }
        }
        break;
      }
      case ROOT.members: {
        if (child) {
          if (keyOf(child) !== who.id) check().refuseType(child, REASON.members);
        } else {
          for (const k of keys) if (k !== who.id) check().refuseKey(root, k ?? '', REASON.members);
          attribution().members(root, keys);
        }
        break;
      }
      case ROOT.comments: {
        if (child) check().refuseType(child, REASON.comments);
        else {
          if (deletesIn(tr, root)) {
            check().restore.add(root);
            check().reasons.add(REASON.comments);
          }
          attribution().comments(root);
        }
        break;
      }
      case ROOT.activity: {
        // append-only like comments; cart entries only while the cart is open
        if (child) check().refuseType(child, REASON.activity);
        else {
          if (deletesIn(tr, root)) {
            check().restore.add(root);
            check().reasons.add(REASON.activity);
          }
          attribution().activity(root, roomStatus() === 'open');
        }
        break;
      }
      case ROOT.meta:
        check().refuseChange(root, child, keys, REASON.meta);
        break;
      case ROOT.settlement:
        check().refuseChange(root, child, keys, REASON.settlement);
        break;
      default:
        check().refuseChange(root, child, keys, REASON.unknown);
    }
  }
  // (assigned inside the closures above, which the compiler's narrowing does not see)
  const result = lazy as Check | null;
  return result?.refused ? result : null;
}
