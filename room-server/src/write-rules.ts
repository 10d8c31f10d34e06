/**
 * Write rules (DESIGN.md "Room document"): who may change which part of the room document.
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
 *   append-only for members: a new comment stays, a deleted one comes back).
 */
import * as Y from 'yjs';
import { ROOT, ROOM_STATUSES } from '@patungan/model';
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
} as const;

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
  constructor(private readonly tr: Y.Transaction) {}

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

/**
 * Checks one applied transaction against the write rules for `who`. Returns null when every
 * change is allowed (the common case), else what to revert and why.
 */
export function checkWrites(tr: Y.Transaction, who: Principal): WriteCheck | null {
  if (who.role === 'service') return null;
  // Allocated on the first refusal only: an allowed update (the common case) allocates
  // nothing but this one closure.
  let lazy: Check | null = null;
  const check = () => (lazy ??= new Check(tr));
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
      }
      continue;
    }
    // member
    switch (name) {
      case ROOT.lines: {
        const s = roomStatus();
        if (s !== 'open') check().refuseChange(root, child, keys, lockedReason(s));
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
        }
        break;
      }
      case ROOT.comments: {
        if (child) check().refuseType(child, REASON.comments);
        else if (deletesIn(tr, root)) {
          check().restore.add(root);
          check().reasons.add(REASON.comments);
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
