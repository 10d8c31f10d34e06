/**
 * The room core: one Y.Doc and one presence store (presence.ts) per room, driven by protocol bytes from
 * connections and by in-process service writes. It knows nothing of sockets: a connection is
 * a `Transport` with `send(bytes)`.
 *
 * Every change of the document goes through `capture → apply → revert → publish`:
 * 1. the `update` events of every transaction of the step are captured;
 * 2. a connection's update is applied with the connection as origin; `afterTransaction` runs
 *    the write rules on exactly what that transaction changed (write-rules.ts) and, when
 *    something is refused, prepares the revert while the deleted content still exists;
 * 3. the revert runs right after the apply (writing old values back, and a `Y.UndoManager`
 *    fed only that transaction for nested types);
 * 4. the captured updates are merged into one and broadcast as one frame, encoded once.
 * So no client ever sees a refused write take effect, the sender's own document snaps back,
 * and the sender's next updates still integrate (Yjs needs each client's updates unbroken).
 */
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { Awareness } from 'y-protocols/awareness';
import type { Logger } from 'pino';
import { ROOM_LIMITS, ROOT } from '@patungan/model';
import { clientOwner, recordClientOwners } from './client-owners.ts';
import { Connection } from './connection.ts';
import type { RoomBus } from './bus.ts';
import type { RoomExtension, RoomHandle } from './hooks.ts';
import { RefusedUpdate } from './hooks.ts';
import type { Stats } from './metrics.ts';
import type { DurableOrigin, Origin, ServiceOrigin } from './origins.ts';
import { REMOTE_ORIGIN, isDurableOrigin, serviceOrigin } from './origins.ts';
import {
  CLOSE,
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  ProtocolError,
  SYNC_STEP1,
  SYNC_STEP2,
  SYNC_UPDATE,
  encodeAwareness,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
} from './protocol.ts';
import { Presence } from './presence.ts';
import type { PresenceChanges } from './presence.ts';
import { RoomSize } from './room-size.ts';
import type { RoomStorage } from './storage/types.ts';
import { checkWrites, removeInserted } from './write-rules.ts';
import type { WriteCheck } from './write-rules.ts';

export interface RoomLimits {
  /** Updates + awareness messages per second per connection (token bucket rate). */
  messagesPerSecond: number;
  /** Token bucket size: how many may arrive at once. */
  messageBurst: number;
  /** Compact the stored log once it holds this many bytes since the last compaction. */
  compactBytes: number;
  /**
   * A room's encoded document may hold at most this many bytes (`MAX_ROOM_BYTES`, default
   * `ROOM_LIMITS.roomBytes`, 4 MiB): an update adding content past it is refused.
   */
  maxRoomBytes?: number;
}

/** What all rooms of one server share. */
export interface RoomContext {
  log: Logger;
  stats: Stats;
  extensions: readonly RoomExtension[];
  /** Where every local update is appended, once (embedded: file or memory; scaled: Redis). */
  storage: RoomStorage;
  /** Who else hears of the room (embedded: nobody, `LocalBus`; scaled: Redis). */
  bus: RoomBus;
  limits: RoomLimits;
  /** Called when a room has no connections and no service work left. */
  idle(room: Room): void;
  /**
   * Called when storage failed. `discard`: the room whose update could not be stored (its
   * document holds what storage does not: drop it, send its clients away with 1013, load it
   * again); null when nothing was lost (a compaction).
   */
  storageFailed?(err: unknown, discard: Room | null): void;
  /** Persistence timing, for metrics. */
  observePersist(op: string, seconds: number): void;
}

const REVERT_ORIGIN = serviceOrigin('write-rules');
/** y-protocols' `outdatedTimeout`: presence not renewed for this long is removed. */
const PRESENCE_TIMEOUT_MS = 30_000;
/** How long the awareness ids of an ended connection stay reserved for the same member. */
const DEPARTED_MS = 60_000;

interface Revert {
  check: WriteCheck;
  undo: Y.UndoManager | null;
  /** The document's state vector before the refused transaction. */
  before: Map<number, number>;
}

/** The close reason for errors that are not ours to name (the real one is only logged). */
export const GENERIC_CLOSE_REASON = 'message could not be processed';
/** The close reason of 4401. */
export const REMOVED_REASON = 'you are no longer a member of this room';

const isConnection = (o: unknown): o is Connection => o instanceof Connection;

export class Room implements RoomHandle {
  readonly doc = new Y.Doc({ gc: true });
  /** The room's presence (presence.ts), lighter than y-protocols' `Awareness`. */
  readonly presence: Presence;
  readonly conns = new Set<Connection>();
  /** Yjs client id → the live connection writing with it. */
  private owners: Map<number, Connection> | null = null; // created by the first write
  /** Awareness client id → the live connection speaking for it. */
  private readonly presenceOwners = new Map<number, Connection>();
  /** Awareness client ids of connections that ended recently, and whose they were. */
  private departed: Map<number, { member: string; at: number }> | null = null;
  /** Update events of the step in progress (null outside a step). */
  private capture: Uint8Array[] | null = null;
  private revert: Revert | null = null;
  /** The room is full: the reason to refuse what the transaction being applied adds. */
  private growth: string | null = null;
  /** The document size bound (made by the first write). */
  private size: RoomSize | null = null;
  /** Service operations in progress (finalise, settlement PUT): keep the room loaded. */
  private holds = 0;
  private compacting = false;
  private typed = false;
  /**
   * Sends waiting for their update to be durable, in publish order (null when none waits).
   * The updates of one storage batch share one entry (one promise reaction per batch).
   */
  private outbox: Outgoing[] | null = null;
  /** An update of this room could not be stored: nothing more goes out from this document. */
  private lost = false;
  /** Set by the registry. */
  state: 'loading' | 'ready' | 'unloading' | 'gone' = 'loading';
  ready: Promise<void> = Promise.resolve();
  unloadTimer: NodeJS.Timeout | null = null;
  unloaded: Promise<void> | null = null;

  constructor(
    readonly id: string,
    private readonly ctx: RoomContext,
  ) {
    // A Y.Doc listens to its own 'load' and 'sync' events (for a provider's whenLoaded /
    // whenSynced): four listener closures and two sets, ~0.85 KB per room. Nothing emits them
    // on the server (no provider, no subdocuments), so they go.
    this.doc._observers.delete('load');
    this.doc._observers.delete('sync');
    // No timer per room: the registry expires presence for every room in one sweep (Rooms,
    // `expirePresence`).
    this.presence = new Presence(this.doc.clientID);
    this.doc.on('update', (update: Uint8Array) => this.capture?.push(update));
    this.doc.on('afterTransaction', (tr: Y.Transaction) => {
      this.afterTransaction(tr);
      this.revoke(tr);
    });
    this.presence.onUpdate = (changes, origin) => this.onAwarenessUpdate(changes, origin);
  }

  /**
   * The presence store in the shape y-protocols' awareness functions take (for hooks and the
   * scaled mode's sync: presence.ts says which members they use).
   */
  get awareness(): Awareness {
    return this.presence as unknown as Awareness;
  }

  // ---------------------------------------------------------------- connections

  connect(conn: Connection): void {
    this.cancelUnload();
    if (this.isRemoved(conn.principal.id)) {
      // removed between the upgrade's check and now
      conn.close(CLOSE.removed, REMOVED_REASON);
      if (this.conns.size === 0 && this.holds === 0) this.ctx.idle(this);
      return;
    }
    this.conns.add(conn);
    conn.send(encodeSyncStep1(Y.encodeStateVector(this.doc)));
    const present = this.presence.clients();
    if (present.length > 0) conn.send(encodeAwareness(this.presence.encode(present)));
    for (const ext of this.ctx.extensions) ext.onConnections?.(this.id, this.conns.size);
  }

  disconnect(conn: Connection): void {
    if (!this.conns.delete(conn)) return;
    conn.closed = true;
    if (conn.clientIds) {
      for (const c of conn.clientIds) if (this.owners?.get(c) === conn) this.owners.delete(c);
    }
    const ids = conn.awarenessIds;
    if (ids && ids.length > 0) {
      const list = ids.slice();
      this.presence.remove(list, conn);
      this.depart(conn, list);
    }
    for (const ext of this.ctx.extensions) ext.onConnections?.(this.id, this.conns.size);
    if (this.conns.size === 0 && this.holds === 0) this.ctx.idle(this);
  }

  /** Whether `memberId`'s entry says they left or were removed (`removedAt` set). */
  isRemoved(memberId: string): boolean {
    const members = this.doc.share.get(ROOT.members);
    if (!members) return false;
    const m: unknown = this.doc.getMap<unknown>(ROOT.members).get(memberId);
    return typeof m === 'object' && m !== null && !!(m as { removedAt?: unknown }).removedAt;
  }

  /**
   * Revocation (docs/contracts.md "Leaving and removal"): whatever wrote `removedAt` — a local
   * connection, a service, another instance — this instance closes its own connections of
   * that member, so every instance does within the update's fan-out. Reads the root without
   * typing it (idle rooms stay small, see `typeRoots`).
   */
  private revoke(tr: Y.Transaction): void {
    if (this.conns.size === 0) return;
    const members = this.doc.share.get(ROOT.members);
    const changed = members && tr.changed.get(members);
    if (!changed) return;
    const ids = [...changed].filter((k): k is string => k !== null);
    // After the write rules had their say: a refused write (a member "removing" another) is
    // reverted synchronously after this transaction, and must close nobody.
    queueMicrotask(() => {
      for (const conn of this.conns) {
        if (conn.closed || conn.principal.role === 'service') continue;
        if (!ids.includes(conn.principal.id) || !this.isRemoved(conn.principal.id)) continue;
        this.ctx.stats.countClose(CLOSE.removed);
        this.ctx.log.info(
          { roomId: this.id, memberId: conn.principal.id },
          'member removed: connection closed',
        );
        conn.close(CLOSE.removed, REMOVED_REASON);
      }
    });
  }

  /** Handles one binary frame from a connection. Never throws: a bad frame closes `conn`. */
  receive(conn: Connection, data: Uint8Array): void {
    if (conn.closed) return;
    if (conn.backlog) {
      conn.backlog.push(data);
      return;
    }
    let pending: Promise<void> | void;
    try {
      pending = this.handle(conn, data);
    } catch (err) {
      this.fail(conn, err);
      return;
    }
    if (pending) this.waitFor(conn, pending);
  }

  /** An async hook is running for `conn`: queue its next frames until it is done. */
  private waitFor(conn: Connection, p: Promise<void>): void {
    conn.backlog = [];
    p.then(
      () => {
        const queued = conn.backlog ?? [];
        conn.backlog = null;
        for (let i = 0; i < queued.length; i++) {
          if (conn.backlog) {
            // another async step started: keep the rest in order behind it
            (conn.backlog as Uint8Array[]).push(...queued.slice(i));
            return;
          }
          this.receive(conn, queued[i]!);
        }
      },
      (err: unknown) => {
        conn.backlog = null;
        this.fail(conn, err);
      },
    );
  }

  private fail(conn: Connection, err: unknown): void {
    const ours = err instanceof ProtocolError || err instanceof RefusedUpdate;
    const code = ours
      ? err instanceof ProtocolError
        ? err.code
        : err.closeCode
      : CLOSE.invalidPayload;
    // Only reasons we wrote go to the client; anything else (a decoder's or a library's
    // exception text) is logged here and the client gets a generic reason.
    const reason = ours ? err.message : GENERIC_CLOSE_REASON;
    this.ctx.log.warn(
      {
        roomId: this.id,
        memberId: conn.principal.id,
        connId: conn.id,
        code,
        ...(ours ? { reason } : { err }),
      },
      'closing connection',
    );
    if (err instanceof RefusedUpdate) conn.send(encodePermissionDenied(reason));
    this.ctx.stats.countClose(code);
    conn.close(code, reason.slice(0, 120));
  }

  private handle(conn: Connection, data: Uint8Array): Promise<void> | void {
    const stats = this.ctx.stats;
    stats.messagesIn++;
    stats.bytesIn += data.byteLength;
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MESSAGE_SYNC: {
        const sub = decoding.readVarUint(decoder);
        if (sub === SYNC_STEP1) {
          const sv = decoding.readVarUint8Array(decoder);
          const reply = encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, sv));
          // it may hold updates not stored yet: it goes out after them (decision 0005)
          this.afterDurable(() => conn.send(reply), null);
          return;
        }
        if (sub !== SYNC_STEP2 && sub !== SYNC_UPDATE) {
          throw new ProtocolError(CLOSE.unsupportedData, `unknown sync message ${sub}`);
        }
        this.rateLimit(conn);
        return this.receiveUpdate(conn, decoding.readVarUint8Array(decoder));
      }
      case MESSAGE_AWARENESS:
        this.rateLimit(conn);
        this.receiveAwareness(conn, decoding.readVarUint8Array(decoder));
        return;
      case MESSAGE_QUERY_AWARENESS: {
        conn.send(encodeAwareness(this.presence.encode(this.presence.clients())));
        return;
      }
      case MESSAGE_AUTH:
        return; // clients have nothing to say here
      default:
        throw new ProtocolError(CLOSE.unsupportedData, `unknown message type ${type}`);
    }
  }

  private rateLimit(conn: Connection): void {
    const { messagesPerSecond, messageBurst } = this.ctx.limits;
    if (!conn.take(performance.now(), messagesPerSecond, messageBurst)) {
      throw new ProtocolError(CLOSE.policyViolation, 'too many messages, slow down');
    }
  }

  // ---------------------------------------------------------------- document updates

  private receiveUpdate(conn: Connection, update: Uint8Array): Promise<void> | void {
    // An empty update (no structs, no deletes): what a client with nothing new answers to our
    // sync step 1. Nothing to check, apply or broadcast.
    if (update.byteLength === 2 && update[0] === 0 && update[1] === 0) return;
    let async: Promise<void> | null = this.ctx.bus.beforeApply?.(this, conn, update) || null;
    for (const ext of this.ctx.extensions) {
      if (!ext.beforeApply) continue;
      const r: void | Promise<void> = async
        ? async.then(() => ext.beforeApply!(this, conn, update))
        : ext.beforeApply(this, conn, update);
      if (r) async = r;
    }
    if (async) return async.then(() => this.applyFromConnection(conn, update));
    this.applyFromConnection(conn, update);
  }

  /**
   * The Yjs clients this update writes new content for: beyond what the document has NOW.
   * Called when the update is judged, after the hooks ran: the bus's catch-up (scaled mode)
   * may just have brought in content this update relays, and with it the record of who owns
   * its client id. Content the server already has is a harmless repeat whoever re-sends it
   * (a y-websocket client relays other members' updates in its sync step 2), never a claim.
   */
  private freshClients(update: Uint8Array): number[] {
    const fresh: number[] = [];
    for (const [client, to] of this.writtenClients(update)) {
      if (to > Y.getState(this.doc.store, client)) fresh.push(client);
    }
    return fresh;
  }

  /**
   * Client id → end clock of the structs in an update. The common case — a live edit, one
   * client's structs starting at the clock the server has for it — is read from the first
   * few bytes (it is new content of that client, whatever its length); anything else is
   * parsed in full by `Y.parseUpdateMeta`.
   */
  private writtenClients(update: Uint8Array): Iterable<[number, number]> {
    const d = decoding.createDecoder(update);
    const blocks = decoding.readVarUint(d);
    if (blocks === 0) return [];
    if (blocks === 1) {
      decoding.readVarUint(d); // number of structs
      const client = decoding.readVarUint(d);
      const clock = decoding.readVarUint(d);
      if (clock >= Y.getState(this.doc.store, client)) return [[client, clock + 1]];
    }
    return Y.parseUpdateMeta(update).to;
  }

  /**
   * Refuses new content under a Yjs client id that belongs to another member: the member who
   * first wrote with it in this room (client-owners.ts; for the room's lifetime, across
   * unloads, restarts and instances), or, before that is recorded, another member's live
   * connection writing with it. Such content would occupy that member's next clocks, and
   * every later update of theirs (their offline edits) would be ignored as already known.
   * Returns the ids this member writes with for the first time, with their clocks now.
   */
  private claimClients(conn: Connection, fresh: number[]): [number, number][] | null {
    const me = conn.principal.id;
    let claims: [number, number][] | null = null;
    for (const c of fresh) {
      if (this.owners?.get(c) === conn) continue; // this connection's own id, judged already
      const first = clientOwner(this.doc, c);
      if (first === me) continue;
      if (first !== undefined) {
        throw new RefusedUpdate(`client id ${c} belongs to another member`);
      }
      const live = this.owners?.get(c);
      if (live !== undefined && live !== conn && !live.closed && live.principal.id !== me) {
        throw new RefusedUpdate(`client id ${c} is in use by another connection`);
      }
      // The same member on a new connection with the same document (the old connection is a
      // dead socket not reaped yet) simply goes on with it.
      (claims ??= []).push([c, Y.getState(this.doc.store, c)]);
    }
    return claims;
  }

  private applyFromConnection(conn: Connection, update: Uint8Array): void {
    if (conn.closed) return;
    const fresh = this.freshClients(update);
    const claims = fresh.length > 0 ? this.claimClients(conn, fresh) : null;
    for (const c of fresh) {
      const owners = (this.owners ??= new Map());
      if (owners.get(c) === conn) continue;
      owners.set(c, conn);
      conn.clientIds = conn.clientIds ? [...conn.clientIds, c] : [c];
    }
    this.typeRoots();
    const store = this.doc.store;
    const hadPending = store.pendingStructs !== null || store.pendingDs !== null;
    if (fresh.length > 0) {
      // Only an update that adds content can make the room bigger.
      this.size ??= new RoomSize(this.doc, this.ctx.limits.maxRoomBytes ?? ROOM_LIMITS.roomBytes);
      this.growth = this.size.refusal(update.byteLength);
    }
    let revert: Revert | null = null;
    let recorded = false;
    this.capture = [];
    let updates: Uint8Array[];
    try {
      Y.applyUpdate(this.doc, update, conn);
    } finally {
      revert = this.revert;
      this.revert = null;
      this.growth = null;
      try {
        if (revert) this.runRevert(revert);
        if (claims) recorded = this.recordClaims(conn, claims);
      } finally {
        updates = this.capture;
        this.capture = null;
      }
    }
    if (revert && updates.length > 0) {
      // What the step integrated, as it is now: the refused content deleted and
      // garbage-collected, so nobody is sent (or stores) the bytes of a refused write.
      updates = [Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(revert.before))];
    }
    const leftPending = !hadPending && (store.pendingStructs !== null || store.pendingDs !== null);
    // The sender already has its own update; it needs the broadcast only when it carries
    // something else too (a revert, an ownership record, or structs that were waiting).
    this.publish(updates, conn, revert !== null || hadPending || recorded ? null : conn);
    if (revert) {
      const reasons = [...revert.check.reasons].join('; ');
      this.ctx.stats.refusedWrites++;
      this.ctx.log.info(
        { roomId: this.id, memberId: conn.principal.id, role: conn.principal.role, reasons },
        'write refused and reverted',
      );
      conn.send(encodePermissionDenied(reasons));
    }
    if (leftPending) {
      // A client's updates only ever depend on what the server sent it, so an update that
      // cannot integrate is forged or corrupt. Drop what it left waiting: integrated later by
      // someone else's transaction it would be judged as that sender's write.
      store.pendingStructs = null;
      store.pendingDs = null;
      throw new RefusedUpdate('update depends on changes the server does not have');
    }
  }

  /**
   * Write rules read YMapEvents, which only typed roots produce; type them before the first
   * write. Not in the constructor: rooms nobody writes to (most idle ones) save ~1.5 KB.
   */
  private typeRoots(): void {
    if (this.typed) return;
    this.typed = true;
    this.doc.getMap(ROOT.meta);
    this.doc.getMap(ROOT.members);
    this.doc.getMap(ROOT.lines);
    this.doc.getMap(ROOT.votes);
    this.doc.getMap(ROOT.settlement);
    this.doc.getArray(ROOT.comments);
    this.doc.getArray(ROOT.activity);
  }

  /** Records this member as the owner of the client ids it just wrote with for the first time. */
  private recordClaims(conn: Connection, claims: [number, number][]): boolean {
    const store = this.doc.store;
    const written = claims.filter(([c, before]) => Y.getState(store, c) > before).map(([c]) => c);
    if (written.length === 0) return false;
    recordClientOwners(this.doc, written, conn.principal.id);
    return true;
  }

  private afterTransaction(tr: Y.Transaction): void {
    const origin: unknown = tr.origin;
    if (!isConnection(origin)) return;
    const check = checkWrites(tr, origin.principal, this.growth);
    if (!check) return;
    let undo: Y.UndoManager | null = null;
    const scope = [...check.undo, ...[...check.restore].filter((t) => !check.undo.has(t))];
    if (scope.length > 0) {
      const restoreOnly = [...check.restore].filter((t) => !check.undo.has(t));
      // The undo manager must capture THIS transaction, and now: Yjs garbage-collects what the
      // transaction deleted right after `afterTransaction`, unless an undo manager keeps it.
      for (const t of scope) if (!tr.changedParentTypes.has(t)) tr.changedParentTypes.set(t, []);
      undo = new Y.UndoManager(scope, {
        trackedOrigins: new Set([origin]),
        captureTimeout: 0,
        deleteFilter:
          restoreOnly.length === 0
            ? () => true
            : (item) => !restoreOnly.some((t) => Y.isParentOf(t, item)),
      });
      undo.afterTransactionHandler(tr);
    }
    this.revert = { check, undo, before: tr.beforeState };
  }

  private runRevert({ check, undo }: Revert): void {
    if (check.remove.size > 0) {
      this.doc.transact(() => {
        for (const [array, items] of check.remove) removeInserted(array, items);
      }, REVERT_ORIGIN);
    }
    if (check.writeBacks.length > 0) {
      this.doc.transact(() => {
        for (const w of check.writeBacks) {
          if (w.had) w.map.set(w.key, w.value);
          else w.map.delete(w.key);
        }
      }, REVERT_ORIGIN);
    }
    if (undo) {
      undo.undo();
      undo.destroy();
    }
  }

  /**
   * Stores what a step changed as one update, hands it to the extensions, and broadcasts it
   * once it is durable (docs/contracts.md "Invariants", docs/decisions/0005-durable-before-broadcast.md):
   * nobody but its sender sees an update that a killed process could lose. Broadcasts go out
   * in publish order. Returns a promise for the durability of service writes.
   */
  private publish(
    updates: Uint8Array[],
    origin: Origin,
    except: Connection | null,
  ): Promise<unknown> | null {
    if (updates.length === 0) return null;
    const update = updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates);
    const message = encodeSyncUpdate(update);
    if (isDurableOrigin(origin)) {
      // durable already (where it came from); still behind the local ones waiting
      this.afterDurable(() => this.broadcast(message, except), null);
      return null;
    }
    // The one append of this update, on every path (embedded and scaled alike).
    const stored = this.ctx.storage.append(this.id, update);
    if (this.ctx.storage.pendingBytes(this.id) > this.ctx.limits.compactBytes) this.compact();
    let waits: Promise<unknown>[] | null = null;
    for (const ext of this.ctx.extensions) {
      if (!ext.onUpdate) continue;
      try {
        const r = ext.onUpdate(this.id, update, origin);
        if (r) (waits ??= []).push(r);
      } catch (err) {
        this.ctx.log.error({ roomId: this.id, err, extension: ext.name }, 'onUpdate hook failed');
      }
    }
    const hooks = waits ? Promise.all(waits) : null;
    // A bus that can put a failed append into storage later (scaled mode while Redis is
    // down: the next resync pushes it) takes it over, and the local broadcast goes out then
    // (decision 0005, 4); otherwise a failed append is a storage failure (`afterDurable`).
    const bus = this.ctx.bus;
    const stores =
      stored && bus.takeOverFailedAppend
        ? stored.catch((err: unknown) => {
            if (!bus.takeOverFailedAppend!(this.id, err)) throw err;
            this.ctx.log.warn(
              { roomId: this.id, err },
              'update not stored yet: served locally, pushed on resync',
            );
          })
        : stored;
    // An extension's onUpdate gates the broadcast too; its failure is only logged.
    const gate = hooks
      ? hooks.catch((err: unknown) =>
          this.ctx.log.error({ roomId: this.id, err }, 'onUpdate hook failed'),
        )
      : null;
    const durable = stores && gate ? Promise.all([stores, gate]) : (stores ?? gate);
    this.afterDurable(() => this.broadcast(message, except), durable);
    if (origin.kind !== 'service') return null;
    if (stored && hooks) return Promise.all([stored, hooks]);
    return stored ?? hooks;
  }

  private broadcast(message: Uint8Array, except: Connection | null): void {
    let sent = 0;
    for (const c of this.conns) {
      if (c !== except) {
        c.send(message);
        sent++;
      }
    }
    this.ctx.stats.messagesOut += sent;
    this.ctx.stats.bytesOut += sent * message.byteLength;
  }

  /**
   * Runs `send` once `gate` (null: nothing) has resolved and every send queued before it has
   * run; never once an update of this room could not be stored (`gate` rejected).
   */
  private afterDurable(send: () => void, gate: Promise<unknown> | null): void {
    if (!this.outbox) {
      if (!gate) return send();
      this.outbox = [];
    }
    const last = this.outbox[this.outbox.length - 1];
    if (last && last.gate === gate) {
      last.sends.push(send); // same batch (or nothing to wait for): same entry
      return;
    }
    const entry: Outgoing = { gate, sends: [send], ready: gate === null };
    this.outbox.push(entry);
    gate?.then(
      () => {
        entry.ready = true;
        this.drain();
      },
      (err: unknown) => this.storageFailed(err),
    );
  }

  private drain(): void {
    const q = this.outbox;
    if (!q) return;
    while (q.length > 0 && q[0]!.ready) {
      const { sends } = q.shift()!;
      if (!this.lost) for (const send of sends) send();
    }
    if (q.length === 0 && this.outbox === q) this.outbox = null;
  }

  /** An update of this room could not be stored: it must not reach anybody. */
  private storageFailed(err: unknown): void {
    if (this.lost) return;
    this.lost = true;
    this.ctx.log.error({ roomId: this.id, err }, 'an update could not be stored');
    this.ctx.storageFailed?.(err, this);
  }

  /** Rewrites the stored log as one snapshot of the current state. */
  compact(): Promise<void> {
    if (this.compacting) return Promise.resolve();
    this.compacting = true;
    const started = performance.now();
    return this.ctx.storage
      .compact(this.id, Y.encodeStateAsUpdate(this.doc))
      .then(
        () => this.ctx.observePersist('compact', (performance.now() - started) / 1000),
        (err: unknown) => {
          this.ctx.log.error({ roomId: this.id, err }, 'compaction failed');
          this.ctx.storageFailed?.(err, null); // the log still holds everything: nothing lost
        },
      )
      .finally(() => {
        this.compacting = false;
      });
  }

  /** Resolves when everything this room stored so far is durable. */
  flush(): Promise<void> {
    const started = performance.now();
    return this.ctx.storage.flush(this.id).then(() => {
      this.ctx.observePersist('flush', (performance.now() - started) / 1000);
    });
  }

  // ---------------------------------------------------------------- in-process writers

  /**
   * A server-side write (finalise, settlement status): runs `fn` in one transaction with a
   * `service` origin, broadcasts it, and resolves once it is durable (stored and accepted by
   * every extension's `onUpdate`).
   */
  async transact(
    fn: (doc: Y.Doc) => void,
    origin: ServiceOrigin = serviceOrigin('service'),
  ): Promise<void> {
    if (this.capture) throw new Error('room.transact called inside another room step');
    this.typeRoots();
    this.capture = [];
    let updates: Uint8Array[];
    try {
      this.doc.transact(() => fn(this.doc), origin);
    } finally {
      updates = this.capture;
      this.capture = null;
    }
    await this.publish(updates, origin, null);
  }

  /** Applies an update from another instance: broadcast locally, not checked, not stored. */
  applyRemoteUpdate(update: Uint8Array, origin: DurableOrigin = REMOTE_ORIGIN): void {
    this.capture = [];
    let updates: Uint8Array[];
    try {
      Y.applyUpdate(this.doc, update, origin);
    } finally {
      updates = this.capture;
      this.capture = null;
    }
    this.publish(updates, origin, null);
  }

  /** Applies awareness from another instance (broadcast locally like any awareness change). */
  applyRemoteAwareness(update: Uint8Array, origin: DurableOrigin = REMOTE_ORIGIN): void {
    this.presence.apply(update, origin);
  }

  /** Removes awareness states of clients elsewhere (e.g. a dead instance's clients). */
  removeRemoteAwareness(clientIds: number[], origin: DurableOrigin = REMOTE_ORIGIN): void {
    this.presence.remove(clientIds, origin);
    for (const c of clientIds) this.presence.forget(c);
  }

  /** Keeps the room loaded while a service operation runs. */
  hold(): void {
    this.holds++;
    this.cancelUnload();
  }

  release(): void {
    this.holds--;
    if (this.holds === 0 && this.conns.size === 0) this.ctx.idle(this);
  }

  get busy(): boolean {
    return this.conns.size > 0 || this.holds > 0;
  }

  cancelUnload(): void {
    if (this.unloadTimer) clearTimeout(this.unloadTimer);
    this.unloadTimer = null;
  }

  // ---------------------------------------------------------------- awareness

  /**
   * Applies a connection's awareness message, entry by entry:
   * - an entry for a client id another member's live connection speaks for is dropped (the
   *   stock client echoes every state it receives, so this is normal, not an attack — and it
   *   must not let one member impersonate or hide another's presence);
   * - an entry for a client id whose connection just ended is dropped unless it comes from
   *   the same member (an echo still in flight would resurrect a departed member), and when it
   *   does, its old clock is forgotten so the reconnecting client's current state wins.
   */
  private receiveAwareness(conn: Connection, update: Uint8Array): void {
    const d = decoding.createDecoder(update);
    const n = decoding.readVarUint(d);
    const kept: { client: number; clock: number; state: string }[] = [];
    let dropped = false;
    for (let i = 0; i < n; i++) {
      const client = decoding.readVarUint(d);
      const clock = decoding.readVarUint(d);
      const state = decoding.readVarString(d);
      const owner = this.presenceOwners.get(client) ?? this.owners?.get(client);
      if (owner && owner !== conn && !owner.closed && owner.principal.id !== conn.principal.id) {
        dropped = true;
        continue;
      }
      if (!owner || owner.closed) {
        const gone = this.departed?.get(client);
        if (gone) {
          if (gone.member !== conn.principal.id) {
            dropped = true;
            continue;
          }
          this.departed!.delete(client);
          this.presence.forget(client);
        }
      }
      kept.push({ client, clock, state });
    }
    if (kept.length === 0) return;
    let u = update;
    if (dropped) {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, kept.length);
      for (const k of kept) {
        encoding.writeVarUint(e, k.client);
        encoding.writeVarUint(e, k.clock);
        encoding.writeVarString(e, k.state);
      }
      u = encoding.toUint8Array(e);
    }
    this.presence.apply(u, conn);
  }

  /**
   * Remembers for a while who spoke for awareness ids that just went away: the same member
   * reconnecting takes them back at once (its clock may be older than the removal's), while
   * echoes of them by other members are dropped.
   */
  private depart(conn: Connection, ids: number[]): void {
    const now = Date.now();
    this.departed ??= new Map();
    for (const [c, g] of this.departed) if (now - g.at > DEPARTED_MS) this.departed.delete(c);
    for (const c of ids) {
      if (this.presenceOwners.get(c) === conn) this.presenceOwners.delete(c);
      this.departed.set(c, { member: conn.principal.id, at: now });
    }
  }

  private onAwarenessUpdate({ added, updated, removed }: PresenceChanges, origin: unknown): void {
    const conn = isConnection(origin) ? origin : null;
    if (conn) {
      // a plain array: almost every connection controls exactly one awareness client
      let ids = conn.awarenessIds ?? [];
      for (const c of added.concat(updated)) {
        if (ids.includes(c)) continue;
        // a new array rather than push: push on an empty array reserves 17 slots
        ids = ids.length === 0 ? [c] : [...ids, c];
        this.presenceOwners.set(c, conn);
      }
      if (removed.length > 0) {
        ids = ids.filter((c) => !removed.includes(c));
        // the stock client sends a null state for itself when it disconnects: same as leaving
        this.depart(conn, removed);
      }
      conn.awarenessIds = ids;
    }
    const changed = added.concat(updated, removed);
    const message = encodeAwareness(this.presence.encode(changed));
    let sent = 0;
    for (const c of this.conns) {
      if (c !== conn) {
        c.send(message);
        sent++;
      }
    }
    this.ctx.stats.messagesOut += sent;
    this.ctx.stats.bytesOut += sent * message.byteLength;
    if (isDurableOrigin(origin)) return;
    const o = origin as Origin | null;
    this.ctx.bus.publishAwareness(this.id, changed, o);
    for (const ext of this.ctx.extensions) ext.onAwareness?.(this.id, changed, o);
  }

  /**
   * Removes the presence of clients that have not renewed it for y-protocols'
   * `outdatedTimeout` (30 s; the stock client renews every 15 s), as y-protocols' own per-room
   * interval would.
   */
  expirePresence(now: number): void {
    let stale: number[] | null = null;
    for (const [client, e] of this.presence.entries) {
      if (e.state !== null && now - e.lastUpdated >= PRESENCE_TIMEOUT_MS) {
        (stale ??= []).push(client);
      }
    }
    if (stale) this.presence.remove(stale, 'timeout');
  }

  destroy(): void {
    this.cancelUnload();
    this.presence.destroy();
    this.doc.destroy();
  }
}

interface Outgoing {
  gate: Promise<unknown> | null;
  sends: (() => void)[];
  ready: boolean;
}
