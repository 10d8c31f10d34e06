/**
 * Where room documents live between loads. One small interface, one contract test suite
 * (test/storage-contract.test.ts) run over every implementation.
 *
 * The core calls `append` with every update it applied for a connection or a service write
 * (never for updates that came from storage itself or from another instance), `compact` from
 * time to time with the whole document state, and `flush` when it must know the data is
 * durable (a service write before it answers, unload, shutdown).
 */
export interface RoomStorage {
  /** Everything stored for a room, in order; applying all of them rebuilds its document. */
  load(roomId: string): Promise<Uint8Array[]>;
  /** Records one update. May buffer: durability is promised by `flush`. */
  append(roomId: string, update: Uint8Array): void;
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
  /** Flushes and releases files / connections. */
  close(): Promise<void>;
}
