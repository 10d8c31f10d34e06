/**
 * Where room documents live between loads: the core's one storage seam (memory and file in
 * embedded mode, Redis in scaled mode: scale/storage.ts). One small interface, one contract
 * test suite (test/storage-contract.ts) run over every implementation as the server uses it.
 *
 * The core loads a room exactly once per load (through its `RoomBus`, which may need to
 * subscribe first), calls `append` exactly once with every update it applied for a connection
 * or a service write (never for updates that came from storage itself or from another
 * instance) and sends the update to anybody else only once the promise `append` returned has
 * resolved: an update any client has seen is durable (docs/contracts.md "Invariants",
 * docs/decisions/0005). It calls `compact` from time to time with the whole document state,
 * and `flush` when it must know that everything appended so far is durable (unload, shutdown).
 */

/** What `load` read: the room's updates, and where that read stands in a shared log. */
export interface StoredRoom {
  /** Everything stored for the room, in order; applying all of them rebuilds its document. */
  updates: Uint8Array[];
  /**
   * A storage shared by several instances (Redis): the room's sequence number at the moment
   * of the (consistent) read, so that the bus knows which published updates it already holds.
   */
  seq?: number;
}

export interface RoomStorage {
  /** Everything stored for a room (no updates for a room never written). */
  load(roomId: string): Promise<StoredRoom>;
  /**
   * Records one update. Resolves once it is durable, rejects when it could not be stored
   * (then nothing of it is stored). `null`: durable already. Appends of the same moment may be
   * written together (group commit), in the order they were made. The promise is marked
   * handled: a caller that ignores it misses nothing that `flush` would not report.
   */
  append(roomId: string, update: Uint8Array): Promise<void> | null;
  /**
   * Replaces what is stored for the room with `state`, which covers every update appended
   * before this call. Updates appended after the call are kept after it.
   */
  compact(roomId: string, state: Uint8Array): Promise<void>;
  /** Resolves when everything appended so far (for one room, or for all) is durable. */
  flush(roomId?: string): Promise<void>;
  /** Bytes stored for a room since its last compaction (decides when to compact). */
  pendingBytes(roomId: string): number;
  /** Called when the room leaves memory: flush it and drop per-room bookkeeping. */
  release?(roomId: string): Promise<void>;
  /**
   * Resolves when the storage can take writes now (called while the server is degraded after
   * a failed write, to know when to report healthy again). Absent: assume it can.
   */
  probe?(): Promise<void>;
  /** Flushes and releases files / connections. */
  close(): Promise<void>;
}
