/**
 * The room-server's `RoomStorage` over Redis, for scaled mode, and its production write
 * path: the core appends every local update here exactly once (`RedisScale.storage`), and the
 * append script stores the update AND publishes it to the room's other instances in one
 * atomic step (store.ts, decision 0003). So an append resolves once Redis has acknowledged
 * it, and the core broadcasts only then (decision 0005).
 *
 * Compaction: the core asks for one when a room unloads (with the whole document), and this
 * storage queues one itself once a room's stream passes `compactAfter` entries (one at a time
 * per instance, skipped while Redis is down). A compaction never fails the core: the stream
 * still holds every update, and Redis being down is reported by the bus's health (`degraded`,
 * HTTP 200), not by a storage failure (503).
 */
import type { Logger } from 'pino';
import type { RoomStorage } from '../storage/types.ts';
import type { ScaleMetrics } from './metrics.ts';
import type { LoadedRoom, RedisRoomStore } from './store.ts';

export interface RedisRoomStorageOptions {
  /** Compact a room once its stream holds more entries than this (default 200). */
  compactAfter?: number;
  metrics?: ScaleMetrics;
  log?: Logger;
  /** Whether Redis is reachable now; queued compactions are skipped while it is not. */
  up?: () => boolean;
}

export class RedisRoomStorage implements RoomStorage {
  readonly #store: RedisRoomStore;
  readonly #compactAfter: number;
  readonly #metrics: ScaleMetrics | undefined;
  readonly #log: Logger | undefined;
  readonly #up: () => boolean;
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #failed = new Map<string, unknown>();
  readonly #pending = new Map<string, number>();
  readonly #compactQueue = new Set<string>();
  #compacting = false;

  constructor(store: RedisRoomStore, o: RedisRoomStorageOptions = {}) {
    this.#store = store;
    this.#compactAfter = o.compactAfter ?? 200;
    this.#metrics = o.metrics;
    this.#log = o.log;
    this.#up = o.up ?? (() => true);
  }

  /** Sequence number, snapshot and stream in one consistent read (one MULTI). */
  async load(roomId: string): Promise<LoadedRoom> {
    const loaded = await this.#store.load(roomId);
    if (loaded.logLength > this.#compactAfter) this.requestCompaction(roomId);
    return loaded;
  }

  /** Resolves once Redis has acknowledged the append (the script stores and publishes it). */
  append(roomId: string, update: Uint8Array): Promise<void> {
    this.#pending.set(roomId, (this.#pending.get(roomId) ?? 0) + update.byteLength);
    const metrics = this.#metrics;
    const end = metrics?.appendSeconds.startTimer();
    // ioredis keeps the commands of one connection in order: appends land in local order.
    const acked = this.#store.append(roomId, update).then(
      ({ logLength }) => {
        end?.();
        metrics?.published.inc({ type: 'update' });
        if (logLength > this.#compactAfter) this.requestCompaction(roomId);
      },
      (err: unknown) => {
        metrics?.publishFailures.inc();
        throw err;
      },
    );
    const p = acked.catch((err: unknown) => {
      this.#failed.set(roomId, err);
    });
    const prev = this.#inflight.get(roomId);
    const all = prev ? Promise.all([prev, p]) : p;
    this.#inflight.set(roomId, all);
    void all.then(() => {
      if (this.#inflight.get(roomId) === all) this.#inflight.delete(roomId);
    });
    return acked; // handled above: ignoring it loses nothing flush would not report
  }

  /**
   * A failed append that the bus took over (it pushes what Redis lacks on the room's next
   * resync): no longer reported by `flush`.
   */
  handedOver(roomId: string): void {
    this.#failed.delete(roomId);
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    try {
      await this.flush(roomId);
      const bytes = this.#pending.get(roomId) ?? 0;
      // Another instance compacting the same room right now covers our appends too.
      const result = await this.#store.compact(roomId, state);
      this.#compacted(roomId, result, bytes);
    } catch (err) {
      this.#metrics?.compactions.inc({ result: 'error' });
      this.#log?.warn({ err, room: roomId }, 'compaction failed');
    }
  }

  /** Queues a compaction of what is in Redis (one at a time on this instance). */
  requestCompaction(roomId: string): void {
    this.#compactQueue.add(roomId);
    if (!this.#compacting) void this.#drainCompactions();
  }

  async #drainCompactions(): Promise<void> {
    this.#compacting = true;
    try {
      for (const roomId of this.#compactQueue) {
        this.#compactQueue.delete(roomId);
        if (!this.#up()) continue;
        const bytes = this.#pending.get(roomId) ?? 0;
        try {
          this.#compacted(roomId, await this.#store.compact(roomId), bytes);
        } catch (err) {
          this.#metrics?.compactions.inc({ result: 'error' });
          this.#log?.warn({ err, room: roomId }, 'compaction failed');
        }
      }
    } finally {
      this.#compacting = false;
    }
  }

  #compacted(roomId: string, result: string, bytesBefore: number): void {
    this.#metrics?.compactions.inc({ result });
    if (result === 'incomplete') {
      this.#log?.error({ room: roomId }, 'compaction refused: stored updates are incomplete');
    }
    if (result === 'compacted' || result === 'empty') {
      const left = (this.#pending.get(roomId) ?? 0) - bytesBefore;
      if (left > 0) this.#pending.set(roomId, left);
      else this.#pending.delete(roomId);
    }
  }

  async flush(roomId?: string): Promise<void> {
    const ids = roomId === undefined ? [...this.#inflight.keys()] : [roomId];
    await Promise.all(ids.map((id) => this.#inflight.get(id)));
    const failedIds = roomId === undefined ? [...this.#failed.keys()] : [roomId];
    for (const id of failedIds) {
      const err = this.#failed.get(id);
      if (err !== undefined) {
        this.#failed.delete(id);
        throw new Error(`room ${id}: an update could not be stored in Redis`, { cause: err });
      }
    }
  }

  pendingBytes(roomId: string): number {
    return this.#pending.get(roomId) ?? 0;
  }

  async release(roomId: string): Promise<void> {
    await this.flush(roomId);
    this.#pending.delete(roomId);
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
