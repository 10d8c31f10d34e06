/**
 * One room on one instance in scaled mode: keeps the local Y.Doc and Awareness in step with
 * every other instance through Redis.
 *
 * - Local updates are appended + published by the core through the Redis storage
 *   (storage.ts). A failed append marks the room for a resync, which pushes what Redis is
 *   missing.
 * - Remote updates carry a per-room sequence number. A number that skips ahead is a gap
 *   (pub/sub dropped something): the room resyncs from durable state. A dropped LAST message
 *   is found by a periodic check of the room's counter (see RedisScale.#checkSequences).
 * - Resync = pull (merge durable state into the doc) then push (append whatever the doc has
 *   that durable state lacks: updates accepted while Redis was down). Yjs updates are
 *   idempotent and commutative, so pulling or pushing twice is harmless.
 */
import type { Logger } from 'pino';
import * as Y from 'yjs';
import { encodeAwarenessUpdate, type Awareness } from 'y-protocols/awareness';
import type { RoomHandle } from '../hooks.ts';
import { REMOTE_ORIGIN, STORAGE_ORIGIN, isDurableOrigin } from '../origins.ts';
import type { StoredRoom } from '../storage/types.ts';
import type { ScaleKeys } from './keys.ts';
import { encodeAwareness, encodePresence, encodeQuery, type ScaleMessage } from './messages.ts';
import type { ScaleMetrics } from './metrics.ts';
import { RemoteClients, withoutLocalRemovals } from './presence.ts';
import type { RedisRoomStore } from './store.ts';

export interface RoomSyncContext {
  readonly instanceId: string;
  readonly keys: ScaleKeys;
  readonly store: RedisRoomStore;
  readonly metrics: ScaleMetrics;
  readonly log: Logger;
  /** Publishes raw bytes on a sharded channel (fire and forget; failures are counted). */
  publish(channel: string, bytes: Uint8Array): Promise<void>;
}

export type ResyncReason = 'gap' | 'check' | 'reconnect' | 'append-failed' | 'relay' | 'manual';

export class RoomSync {
  readonly id: string;
  readonly host: RoomHandle;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly channel: string;
  readonly remote = new RemoteClients();
  /** Highest sequence number this instance knows to be reflected in its doc (or in flight). */
  lastSeq = 0;
  /** Set while subscribe → load → merge runs: messages wait here. */
  #buffer: ScaleMessage[] | null = [];
  #resync: Promise<void> | null = null;
  #resyncAgain = false;
  needsResync = false;
  /** A counter value seen by the periodic check that we had not reached yet. */
  suspectSeq: number | null = null;
  lastActivity = Date.now();
  /** When the periodic check last found this room's counter equal to `lastSeq`. */
  verifiedAt = 0;
  /** Test hook: drop this many incoming remote updates (simulates pub/sub loss). */
  dropIncoming = 0;
  readonly #ctx: RoomSyncContext;
  readonly #log: Logger;

  constructor(host: RoomHandle, ctx: RoomSyncContext) {
    this.id = host.id;
    this.host = host;
    this.doc = host.doc;
    this.awareness = host.awareness;
    this.channel = ctx.keys.channel(host.id);
    this.#ctx = ctx;
    this.#log = ctx.log.child({ room: host.id });
  }

  /**
   * Called once the channel subscription is confirmed and the core's one storage load
   * (`stored`, read in one MULTI with the room's sequence number) is applied to the doc. Why
   * this order is safe: the append script stores an update and publishes it in one atomic
   * step. An update appended before the load's MULTI is in what was loaded; one appended
   * after it is published while our subscription already exists, so it is delivered to us
   * (and waits in #buffer until now). No update falls between the two. Loading first and
   * subscribing second would lose every update appended in between.
   */
  loaded(stored: StoredRoom): void {
    this.lastSeq = Math.max(this.lastSeq, stored.seq ?? 0);
    const buffered = this.#buffer ?? [];
    this.#buffer = null;
    for (const m of buffered) this.receive(m);
    // Ask the others for their clients' presence; they answer on our inbox only.
    this.#ctx.publish(this.channel, encodeQuery(this.#ctx.instanceId)).catch(() => {});
  }

  receive(m: ScaleMessage): void {
    if (this.#buffer) {
      this.#buffer.push(m);
      return;
    }
    const me = this.#ctx.instanceId;
    if (m.type === 0 && m.from !== me && this.dropIncoming > 0) {
      this.dropIncoming--; // as if pub/sub had lost it: no trace at all
      return;
    }
    this.lastActivity = Date.now();
    switch (m.type) {
      case 0: {
        if (m.from !== me) {
          this.#ctx.metrics.received.inc({ type: 'update' });
          this.host.applyRemoteUpdate(m.update, REMOTE_ORIGIN);
        }
        this.#trackSeq(m.seq);
        return;
      }
      case 1:
      case 3:
        if (m.from === me) return;
        {
          this.#ctx.metrics.received.inc({ type: m.type === 1 ? 'awareness' : 'presence' });
          const states = this.awareness.getStates();
          const update = withoutLocalRemovals(
            m.update,
            (id) => states.has(id) && !this.remote.isRemote(id),
          );
          if (!update) return;
          this.remote.note(m.from, update);
          this.host.applyRemoteAwareness(update, REMOTE_ORIGIN);
          return;
        }
      case 2: {
        if (m.from === me) return;
        this.#ctx.metrics.received.inc({ type: 'query' });
        const local = this.remote.localClients(this.awareness);
        if (local.length === 0) return;
        // A reply meant for one instance goes to that instance's inbox, never to the room.
        const update = encodeAwarenessUpdate(this.awareness, local);
        this.#ctx
          .publish(this.#ctx.keys.inbox(m.from), encodePresence(me, this.id, update))
          .catch(() => {});
        return;
      }
    }
  }

  #trackSeq(seq: number): void {
    if (seq <= this.lastSeq) return;
    if (seq > this.lastSeq + 1) {
      this.#ctx.metrics.gaps.inc();
      this.#log.warn({ seq, lastSeq: this.lastSeq }, 'sequence gap: resyncing from Redis');
      this.lastSeq = seq;
      void this.resync('gap');
      return;
    }
    this.lastSeq = seq;
  }

  /** A local update's append failed (the core serves it locally): push it on resync. */
  appendFailed(err: unknown): void {
    if (!this.needsResync) this.#log.warn({ err }, 'append failed: will push on resync');
    this.needsResync = true;
  }

  /** A resync's push: what the doc has and Redis lacks, appended (and published) as one. */
  async #push(update: Uint8Array): Promise<void> {
    const ctx = this.#ctx;
    this.lastActivity = Date.now();
    try {
      await ctx.store.append(this.id, update);
      ctx.metrics.published.inc({ type: 'update' });
    } catch (err) {
      ctx.metrics.publishFailures.inc();
      throw err;
    }
  }

  /**
   * The core's awareness hook. A state that is set by a non-remote origin belongs to a local
   * connection (a client that moved here from another instance is claimed). A removal of a
   * remote client (the 30 s timeout here) is not ours to announce: its own instance decides.
   */
  onAwareness(changed: readonly number[], origin: unknown): void {
    if (isDurableOrigin(origin)) return;
    const states = this.awareness.getStates();
    const mine: number[] = [];
    for (const id of changed) {
      if (states.has(id)) {
        this.remote.claim(id);
        mine.push(id);
      } else if (this.remote.isRemote(id)) {
        this.remote.forget(id);
      } else {
        mine.push(id);
      }
    }
    if (mine.length === 0) return;
    const update = encodeAwarenessUpdate(this.awareness, mine);
    this.#ctx.metrics.published.inc({ type: 'awareness' });
    this.#ctx.publish(this.channel, encodeAwareness(this.#ctx.instanceId, update)).catch(() => {});
  }

  /**
   * Resolves once what this doc holds beyond Redis (appends that failed) is pushed; rejects
   * if it still cannot be. The appends themselves are awaited by the storage's `flush`.
   */
  async flush(): Promise<void> {
    if (this.needsResync) {
      await this.resync('append-failed');
      if (this.needsResync) throw new Error(`room ${this.id}: Redis is unreachable`);
    }
  }

  /**
   * Before relayed content is judged: one read of the room's counter, and a resync only when
   * Redis has messages this instance has not seen yet (if it has seen them all, Redis cannot
   * know anything this doc does not).
   */
  async catchUp(): Promise<void> {
    try {
      const [seq = 0] = await this.#ctx.store.seqs([this.id]);
      if (seq > this.lastSeq) await this.resync('relay');
    } catch {
      // Redis unreachable: judge with what we have (degraded mode)
    }
  }

  /** Pull durable state, then push what it lacks. Coalesces concurrent calls. */
  resync(reason: ResyncReason): Promise<void> {
    if (this.#resync) {
      this.#resyncAgain = true;
      return this.#resync;
    }
    this.#resync = this.#runResync(reason).finally(() => {
      this.#resync = null;
    });
    return this.#resync;
  }

  async #runResync(reason: ResyncReason): Promise<void> {
    do {
      this.#resyncAgain = false;
      this.needsResync = false;
      this.suspectSeq = null;
      this.#ctx.metrics.resyncs.inc({ reason });
      try {
        const loaded = await this.#ctx.store.load(this.id);
        const durable = new Y.Doc();
        try {
          Y.transact(durable, () => {
            for (const u of loaded.updates) Y.applyUpdate(durable, u);
          });
          // Pull: only what this doc lacks (its state vector is the diff base).
          const pull = Y.encodeStateAsUpdate(durable, Y.encodeStateVector(this.doc));
          this.host.applyRemoteUpdate(pull, STORAGE_ORIGIN);
          // Push: the doc now contains everything durable; anything beyond that was accepted
          // here while an append could not be made, and must not be lost.
          const store = this.doc.store;
          if (
            !Y.equalSnapshots(Y.snapshot(this.doc), Y.snapshot(durable)) ||
            store.pendingStructs !== null ||
            store.pendingDs !== null
          ) {
            await this.#push(Y.encodeStateAsUpdate(this.doc, Y.encodeStateVector(durable)));
          }
          // A counter below ours means Redis lost its data (restart without persistence) and
          // counts again from what was pushed since: follow it, or gaps would go unnoticed.
          this.lastSeq =
            loaded.seq < this.lastSeq ? loaded.seq : Math.max(this.lastSeq, loaded.seq);
          this.#log.debug({ reason, seq: loaded.seq }, 'resynced');
        } finally {
          durable.destroy();
        }
      } catch (err) {
        this.needsResync = true;
        this.#log.warn({ err, reason }, 'resync failed: will retry');
        return;
      }
    } while (this.#resyncAgain);
  }
}
