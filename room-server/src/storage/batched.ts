/**
 * The group-commit machinery the file and PostgreSQL room storages share, so the durability
 * rules of docs/decisions/0005 live in one place:
 *
 * - `append` collects a room's updates into one batch and resolves only once the storage's
 *   `write` stored that batch (durable). The appends made by one callback (every frame of one
 *   socket read) form one batch per room, committed when the callback returns (a microtask;
 *   or after `commitWindowMs`).
 * - Every write of a room runs on the room's own promise chain, in order. A write step takes
 *   the batch when it runs, not when it is queued: what is appended while the chain is busy
 *   (an fdatasync, an insert, a compaction) is written with it.
 * - `compact` writes what was appended before the call first (its promises resolve when it is
 *   written), then runs the storage's compaction step; what is appended after the call goes
 *   into a fresh batch after the compaction (a generation number makes write steps queued
 *   before it leave that batch alone), so a compaction never loses an update.
 * - A write never rejects the chain: a failure rejects its batch's promises and is reported by
 *   the next `flush`.
 *
 * The storage keeps its own per-room state (`S`: an open fd, the last inserted id) here too.
 */

/** Appends of one room not written yet. */
export interface Batch<T> {
  items: T[];
  /** The bytes the items add to the room's pending bytes. */
  bytes: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Room<T, S> {
  /** Appends not written yet, or null. */
  batch: Batch<T> | null;
  /** A write step for the open batch is on the chain and has not started. */
  queued: boolean;
  /** Bumped by compaction: write steps queued before it leave later batches alone. */
  gen: number;
  /** Bytes stored since the last compaction, including what is not written yet. */
  pending: number;
  /** Every write of this room runs on this chain, in order (set through `setChain`). */
  chain: Promise<void>;
  /** Whether `chain` has settled: nothing of this room is being written or waits to be. */
  settled: boolean;
  /** The last write error, reported by the next flush. */
  error: unknown;
  /** The storage's own per-room state. */
  state: S;
}

export interface BatchedWriterOptions<T, S> {
  /** Stores one batch; rejects (storing nothing of it) when it could not. */
  write: (roomId: string, state: S, batch: Batch<T>) => Promise<void>;
  /** A new room's storage state. */
  newState: () => S;
  /** What a new room's chain waits for first (default: nothing). Must not reject. */
  chainStart?: () => Promise<void>;
  /** How long appends are collected before they are written (default 0: a microtask). */
  commitWindowMs?: number;
  /** Called when a write fails (the append's promise rejects too, and the next `flush`). */
  onError?: (err: unknown, roomId: string) => void;
}

const ignore = () => {};

function newBatch<T>(): Batch<T> {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(ignore); // reported to whoever awaits it, and by the next flush
  return { items: [], bytes: 0, promise, resolve, reject };
}

export class BatchedWriter<T, S> {
  private readonly rooms = new Map<string, Room<T, S>>();
  private readonly dirty = new Set<string>();
  /** A commit is scheduled (a microtask, or a timer with `commitWindowMs`). */
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly commitWindowMs: number;

  constructor(private readonly opts: BatchedWriterOptions<T, S>) {
    this.commitWindowMs = Math.max(0, opts.commitWindowMs ?? 0);
  }

  private room(roomId: string): Room<T, S> {
    let r = this.rooms.get(roomId);
    if (!r) {
      r = {
        batch: null,
        queued: false,
        gen: 0,
        pending: 0,
        chain: Promise.resolve(),
        settled: false,
        error: null,
        state: this.opts.newState(),
      };
      this.setChain(r, this.opts.chainStart?.() ?? Promise.resolve());
      this.rooms.set(roomId, r);
    }
    return r;
  }

  /** Makes `p` the room's chain, and notes when it has settled (if nothing came after it). */
  private setChain(r: Room<T, S>, p: Promise<void>): Promise<void> {
    r.chain = p;
    r.settled = false;
    const settled = () => {
      if (r.chain === p) r.settled = true;
    };
    p.then(settled, settled);
    return p;
  }

  /**
   * Writes `bytes` of the room now, with `write` (which returns false when it cannot, having
   * written nothing), when nothing else of the room is waiting or being written and appends
   * are not collected for a window: then there is nothing to group it with and nothing it
   * could overtake, and the caller needs no promise (decision 0018). False: not written, use
   * `append`.
   */
  appendNow(roomId: string, bytes: number, write: (state: S) => boolean): boolean {
    if (this.commitWindowMs > 0) return false;
    const r = this.rooms.get(roomId);
    if (!r || !r.settled || r.batch !== null || r.queued) return false;
    if (!write(r.state)) return false;
    r.pending += bytes;
    return true;
  }

  /** The room's storage state (the room is created if unknown). */
  state(roomId: string): S {
    return this.room(roomId).state;
  }

  /** Is the room known (appended, loaded or compacted, and not released)? */
  has(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  /** Adds `item` to the room's batch; resolves once the batch is written. */
  append(roomId: string, item: T, bytes: number): Promise<void> {
    const r = this.room(roomId);
    const b = (r.batch ??= newBatch<T>());
    b.items.push(item);
    b.bytes += bytes;
    r.pending += bytes;
    if (!r.queued) {
      this.dirty.add(roomId);
      if (!this.scheduled) {
        this.scheduled = true;
        if (this.commitWindowMs > 0) this.timer = setTimeout(this.commit, this.commitWindowMs);
        else queueMicrotask(this.commit);
      }
    }
    return b.promise;
  }

  /** Queues a write step for every room with appends of this turn. */
  private readonly commit = (): void => {
    if (!this.scheduled) return; // stopped meanwhile
    this.scheduled = false;
    this.timer = null;
    for (const id of this.dirty) {
      const r = this.rooms.get(id);
      if (r) this.queueWrite(id, r);
    }
    this.dirty.clear();
  };

  /** Puts one write step on the room's chain; it takes the batch when it runs. */
  private queueWrite(roomId: string, r: Room<T, S>): void {
    if (r.queued || !r.batch) return;
    r.queued = true;
    const gen = r.gen;
    this.setChain(
      r,
      r.chain.then(() => {
        if (r.gen !== gen) return; // a compaction took the batch meanwhile
        r.queued = false;
        const b = r.batch;
        r.batch = null;
        return b ? this.write(roomId, r, b) : undefined;
      }),
    );
  }

  /** Writes one batch (on the room's chain). Never rejects: the batch's promise does. */
  private async write(roomId: string, r: Room<T, S>, b: Batch<T>): Promise<void> {
    try {
      await this.opts.write(roomId, r.state, b);
      b.resolve();
    } catch (err) {
      r.pending = Math.max(0, r.pending - b.bytes);
      r.error = err;
      this.opts.onError?.(err, roomId);
      b.reject(err);
    }
  }

  private flushRoom(roomId: string, r: Room<T, S>): Promise<void> {
    this.queueWrite(roomId, r);
    return r.chain.then(() => {
      const err = r.error;
      if (err) {
        r.error = null;
        throw err;
      }
    });
  }

  /** Resolves when everything appended so far (one room, or all) is written; else rejects. */
  async flush(roomId?: string): Promise<void> {
    if (roomId !== undefined) {
      const r = this.rooms.get(roomId);
      if (r) await this.flushRoom(roomId, r);
      return;
    }
    await Promise.all([...this.rooms].map(([id, r]) => this.flushRoom(id, r)));
  }

  /** Like `flush(roomId)`, but creates the room when unknown (before a load). */
  flushOrCreate(roomId: string): Promise<void> {
    return this.flushRoom(roomId, this.room(roomId));
  }

  /**
   * Compacts: writes what was appended before this call first, then runs `step` on the
   * room's chain; appends after the call are written after it. Rejects when `step` does.
   */
  compact(roomId: string, step: (state: S) => Promise<void>): Promise<void> {
    const r = this.room(roomId);
    const b = r.batch;
    r.batch = null;
    r.gen++;
    r.queued = false;
    r.pending = 0;
    if (b)
      this.setChain(
        r,
        r.chain.then(() => this.write(roomId, r, b)),
      );
    const done = r.chain.then(() => step(r.state));
    this.setChain(r, done.catch(ignore));
    return done;
  }

  /** Runs `step` on the room's chain, after every write queued so far (a known room only). */
  enqueue(roomId: string, step: (state: S) => Promise<void>): Promise<void> {
    const r = this.rooms.get(roomId);
    if (!r) return Promise.resolve();
    return this.setChain(
      r,
      r.chain.then(() => step(r.state)),
    );
  }

  /** Runs `step` on every room's chain. */
  async enqueueAll(step: (roomId: string, state: S) => Promise<void>): Promise<void> {
    await Promise.all([...this.rooms.keys()].map((id) => this.enqueue(id, (s) => step(id, s))));
  }

  /** Bytes stored for a room since its last compaction, including what is not written yet. */
  pendingBytes(roomId: string): number {
    return this.rooms.get(roomId)?.pending ?? 0;
  }

  /** Bytes appended to the room and not handed to `write` yet. */
  unwrittenBytes(roomId: string): number {
    return this.rooms.get(roomId)?.batch?.bytes ?? 0;
  }

  /** Sets the room's pending bytes (after a load read what is stored). */
  setPendingBytes(roomId: string, bytes: number): void {
    this.room(roomId).pending = bytes;
  }

  /**
   * Flushes the room, runs `step` (closing what the storage holds open) on its chain, then
   * forgets it unless something was appended meanwhile or `idle` says it still holds state.
   */
  async release(
    roomId: string,
    step: (state: S) => Promise<void> = async () => {},
    idle: (state: S) => boolean = () => true,
  ): Promise<void> {
    const r = this.rooms.get(roomId);
    if (!r) return;
    await this.flushRoom(roomId, r);
    await this.setChain(
      r,
      r.chain.then(() => step(r.state)),
    );
    if (r.batch === null && !r.queued && idle(r.state) && this.rooms.get(roomId) === r)
      this.rooms.delete(roomId);
  }

  /** Cancels a scheduled commit (`flush` writes what it would have). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.scheduled = false;
    this.dirty.clear();
  }
}
