/**
 * The room-server's `RoomStorage` over Redis, for scaled mode: what the core loads a room
 * from (and what the shared storage contract suite runs over). When the `RedisScale` extension
 * is installed it appends every update itself (`persistsUpdates`), so the core calls only
 * `load` here; `append` / `compact` / `flush` are complete anyway, so that this is a storage
 * like any other (an update appended here is also published to the room's instances).
 */
import type { RoomStorage } from '../storage/types.ts';
import type { RedisRoomStore } from './store.ts';

export class RedisRoomStorage implements RoomStorage {
  readonly #store: RedisRoomStore;
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #failed = new Map<string, unknown>();
  readonly #pending = new Map<string, number>();

  constructor(store: RedisRoomStore) {
    this.#store = store;
  }

  async load(roomId: string): Promise<Uint8Array[]> {
    return (await this.#store.load(roomId)).updates;
  }

  /** Resolves once Redis has acknowledged the append (the script stores and publishes it). */
  append(roomId: string, update: Uint8Array): Promise<void> {
    this.#pending.set(roomId, (this.#pending.get(roomId) ?? 0) + update.byteLength);
    const acked = this.#store.append(roomId, update).then(() => {});
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

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    await this.flush(roomId);
    const bytes = this.#pending.get(roomId) ?? 0;
    // Another instance compacting the same room right now covers our appends too.
    const result = await this.#store.compact(roomId, state);
    if (result === 'incomplete') throw new Error(`room ${roomId}: stored updates are incomplete`);
    if (result !== 'busy' && result !== 'lost-lock') {
      this.#pending.set(roomId, Math.max(0, (this.#pending.get(roomId) ?? 0) - bytes));
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
