/**
 * Embedded-mode storage: per room, a snapshot file and an append-only update log under `dir`
 * (DATA_DIR/rooms; the directory 0700, the files 0600).
 *
 *   <roomId>.snapshot   the whole document state at the last compaction (written to a temp
 *                       file, fsynced, then renamed over the old one: never half-written)
 *   <roomId>.log        updates since then, each as [u32 little-endian length][update bytes]
 *
 * Group commit (docs/decisions/0005): `append` returns a promise that resolves once the update
 * is written. The appends made by one callback (every frame of one socket read) are written
 * with one `write(2)` per room when it returns (a microtask; or after `commitWindowMs`), and
 * the core broadcasts them only then. Written means in the kernel's page
 * cache: that survives a kill -9 of this process and a restart of it. With `sync: 'fdatasync'`
 * (`ROOM_STORAGE_SYNC=fdatasync`) each batch is also `fdatasync`ed before it resolves, which
 * survives a power loss, at the cost measured in docs/benchmarks.md; appends arriving during
 * the fdatasync form the next batch.
 *
 * A failed write (ENOSPC, EIO, …) is cut off again (the log is truncated to its length before
 * the write, so no torn record sits in the middle) and rejects the promises of its batch. The
 * logs of recently written rooms stay open (at most `maxOpenFiles`, least recently used closed
 * first) so a write is one `write(2)`. A record cut short by a crash is ignored on load.
 * Compaction runs on the room's own promise chain, after every log write issued before it: the
 * snapshot is in place before the log is emptied, and a crash between the two only replays
 * updates the snapshot already holds (applying a Yjs update twice is harmless). A compaction
 * that fails removes its temp file; temp files left by a crash are removed at start.
 */
import {
  close as closeFd,
  fdatasync,
  fstatSync,
  ftruncateSync,
  open as openFd,
  writeSync,
} from 'node:fs';
import {
  chmod,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { RoomStorage, StoredRoom } from './types.ts';

export interface FileStorageOptions {
  /** Directory holding the room files (created 0700 if missing). */
  dir: string;
  /**
   * How long appends are collected before they are written (default 0: when the current
   * callback returns, e.g. all frames of one socket read). Every update waits this long
   * before anybody else sees it.
   */
  commitWindowMs?: number;
  /**
   * `write` (default): an update is durable once written to the log (survives kill -9 of the
   * process); `fdatasync`: once the log is also synced to the disk (survives a power loss).
   * Default from `ROOM_STORAGE_SYNC`.
   */
  sync?: 'write' | 'fdatasync';
  /** Log files kept open for appending (default 1024; sockets need the rest of the fd limit). */
  maxOpenFiles?: number;
  /** Called when a write fails (the append's promise rejects too, and the next `flush`). */
  onError?: (err: unknown, roomId: string) => void;
}

interface Batch {
  parts: Uint8Array[];
  bytes: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface FileRoom {
  /** Appends not written yet, or null. */
  batch: Batch | null;
  /** A write step for the open batch is on the chain and has not started. */
  queued: boolean;
  /** Bumped by compaction: write steps queued before it leave later batches alone. */
  gen: number;
  /** Bytes in the log since the last compaction, including what is not written yet. */
  logBytes: number;
  /** Every write of this room runs on this chain, in order. */
  chain: Promise<void>;
  /** The last write error, reported by the next flush. */
  error: unknown;
  /** Open log file descriptor (append mode), or null. */
  fd: number | null;
  /** Length of the log file behind `fd` (a failed write is truncated back to it). */
  size: number;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

const openAppend = (path: string) =>
  new Promise<number>((resolve, reject) =>
    openFd(path, 'a', FILE_MODE, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
const datasync = (fd: number) =>
  new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
/**
 * Appends synchronously: a page-cache write of a few hundred bytes takes microseconds, while
 * handing it to libuv's thread pool costs a thread wake-up and a callback per room per flush
 * (measured: the async version cost ~40 µs of process CPU per write, docs/benchmarks.md).
 */
function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
}
const closeQuietly = (fd: number) => new Promise<void>((resolve) => closeFd(fd, () => resolve()));
const ignore = () => {};

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(ignore); // reported to whoever awaits it, and by the next flush
  return { parts: [], bytes: 0, promise, resolve, reject };
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class FileStorage implements RoomStorage {
  private readonly rooms = new Map<string, FileRoom>();
  private readonly dirty = new Set<string>();
  /** A commit is scheduled (a microtask, or a timer with `commitWindowMs`). */
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly ready: Promise<unknown>;
  private readonly commitWindowMs: number;
  private readonly sync: boolean;
  private readonly maxOpenFiles: number;
  /** Rooms with an open log fd, least recently written first. */
  private readonly openLogs = new Set<string>();

  constructor(private readonly opts: FileStorageOptions) {
    this.commitWindowMs = Math.max(0, opts.commitWindowMs ?? 0);
    const sync = opts.sync ?? process.env.ROOM_STORAGE_SYNC ?? 'write';
    if (sync !== 'write' && sync !== 'fdatasync')
      throw new Error(`ROOM_STORAGE_SYNC must be write or fdatasync, got ${sync}`);
    this.sync = sync === 'fdatasync';
    this.maxOpenFiles = Math.max(1, opts.maxOpenFiles ?? 1024);
    this.ready = this.prepare();
  }

  /**
   * Creates the directory (0700), removes temp files a crash or a full disk left, and makes
   * room files an older version created 0644 private (0600).
   */
  private async prepare(): Promise<void> {
    const dir = this.opts.dir;
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    await chmod(dir, DIR_MODE);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(dir, entry.name);
      if (entry.name.endsWith('.tmp')) await rm(path, { force: true });
      else if ((await stat(path)).mode & 0o077) await chmod(path, FILE_MODE);
    }
  }

  private path(roomId: string, ext: 'snapshot' | 'log' | 'tmp'): string {
    if (!SAFE_ID.test(roomId)) throw new Error(`invalid room id ${JSON.stringify(roomId)}`);
    return join(this.opts.dir, `${roomId}.${ext}`);
  }

  private room(roomId: string): FileRoom {
    let r = this.rooms.get(roomId);
    if (!r) {
      r = {
        batch: null,
        queued: false,
        gen: 0,
        logBytes: 0,
        chain: this.ready.then(ignore, ignore), // a failed mkdir fails the writes instead
        error: null,
        fd: null,
        size: 0,
      };
      this.rooms.set(roomId, r);
    }
    return r;
  }

  async load(roomId: string): Promise<StoredRoom> {
    const r = this.room(roomId);
    await this.flushRoom(roomId, r);
    const out: Uint8Array[] = [];
    const snapshot = await readIfExists(this.path(roomId, 'snapshot'));
    if (snapshot && snapshot.byteLength > 0) out.push(snapshot);
    const log = await readIfExists(this.path(roomId, 'log'));
    r.logBytes = log?.byteLength ?? 0;
    if (log) {
      let off = 0;
      while (off + 4 <= log.byteLength) {
        const len = log.readUInt32LE(off);
        if (off + 4 + len > log.byteLength) break; // cut short by a crash: ignore the tail
        out.push(log.subarray(off + 4, off + 4 + len));
        off += 4 + len;
      }
    }
    return { updates: out };
  }

  append(roomId: string, update: Uint8Array): Promise<void> {
    const r = this.room(roomId);
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32LE(update.byteLength, 0);
    const b = (r.batch ??= newBatch());
    b.parts.push(header, update);
    b.bytes += 4 + update.byteLength;
    r.logBytes += 4 + update.byteLength;
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
    if (!this.scheduled) return; // closed meanwhile
    this.scheduled = false;
    this.timer = null;
    for (const id of this.dirty) {
      const r = this.rooms.get(id);
      if (r) this.queueWrite(id, r);
    }
    this.dirty.clear();
  };

  /**
   * Puts one write step on the room's chain. It takes the batch when it runs, not now: what is
   * appended while the chain is busy (an fdatasync, a compaction) is written with it.
   */
  private queueWrite(roomId: string, r: FileRoom): void {
    if (r.queued || !r.batch) return;
    r.queued = true;
    const gen = r.gen;
    r.chain = r.chain.then(() => {
      if (r.gen !== gen) return; // a compaction took the batch meanwhile
      r.queued = false;
      const b = r.batch;
      r.batch = null;
      return b ? this.write(roomId, r, b) : undefined;
    });
  }

  /** Writes one batch (on the room's chain). Never rejects: the batch's promise does. */
  private async write(roomId: string, r: FileRoom, b: Batch): Promise<void> {
    const data = Buffer.concat(b.parts, b.bytes);
    try {
      if (r.fd === null) {
        const fd = await openAppend(this.path(roomId, 'log'));
        r.fd = fd;
        r.size = fstatSync(fd).size;
        this.openLogs.add(roomId);
        this.evictLogs(roomId);
      } else {
        this.openLogs.delete(roomId); // most recently used goes last
        this.openLogs.add(roomId);
      }
      const fd = r.fd;
      try {
        writeAll(fd, data);
      } catch (err) {
        // part of the batch may be in the file: cut it off, or the records after it misparse
        try {
          ftruncateSync(fd, r.size);
        } catch {
          // nothing more to do; the load ignores a torn tail
        }
        throw err;
      }
      r.size += data.byteLength;
      if (this.sync) await datasync(fd);
      b.resolve();
    } catch (err) {
      r.logBytes = Math.max(0, r.logBytes - b.bytes);
      r.error = err;
      this.opts.onError?.(err, roomId);
      b.reject(err);
    }
  }

  private flushRoom(roomId: string, r: FileRoom): Promise<void> {
    this.queueWrite(roomId, r);
    return r.chain.then(() => {
      const err = r.error;
      if (err) {
        r.error = null;
        throw err;
      }
    });
  }

  /** Closes the least recently written logs beyond `maxOpenFiles`, each on its own chain. */
  private evictLogs(keep: string): void {
    for (const id of this.openLogs) {
      if (this.openLogs.size <= this.maxOpenFiles) return;
      if (id === keep) continue;
      this.openLogs.delete(id);
      const victim = this.rooms.get(id);
      if (victim) victim.chain = victim.chain.then(() => this.closeLog(id, victim));
    }
  }

  private async closeLog(roomId: string, r: FileRoom): Promise<void> {
    const fd = r.fd;
    r.fd = null;
    this.openLogs.delete(roomId);
    if (fd !== null) await closeQuietly(fd);
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    const r = this.room(roomId);
    // What is appended before this call is covered by `state`, but its promises resolve when
    // it is written: write it first, in place; what comes after goes into the fresh log.
    const b = r.batch;
    r.batch = null;
    r.gen++;
    r.queued = false;
    r.logBytes = 0;
    if (b) r.chain = r.chain.then(() => this.write(roomId, r, b));
    const tmp = this.path(roomId, 'tmp');
    const snapshot = this.path(roomId, 'snapshot');
    const log = this.path(roomId, 'log');
    const done = r.chain.then(async () => {
      try {
        const fh = await open(tmp, 'w', FILE_MODE);
        try {
          await fh.writeFile(state);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        await rename(tmp, snapshot);
      } catch (err) {
        await rm(tmp, { force: true }).catch(ignore);
        throw err;
      }
      // truncate through a fresh file: the cached append fd (if any) is closed first
      await this.closeLog(roomId, r);
      await writeFile(log, new Uint8Array(0), { mode: FILE_MODE });
    });
    r.chain = done.catch(ignore);
    return done;
  }

  async flush(roomId?: string): Promise<void> {
    if (roomId !== undefined) {
      const r = this.rooms.get(roomId);
      if (r) await this.flushRoom(roomId, r);
      return;
    }
    await Promise.all([...this.rooms].map(([id, r]) => this.flushRoom(id, r)));
  }

  pendingBytes(roomId: string): number {
    return this.rooms.get(roomId)?.logBytes ?? 0;
  }

  /** Writes (and syncs) a small file and removes it: can the directory take writes again? */
  async probe(): Promise<void> {
    await this.ready;
    const path = join(this.opts.dir, '.probe.tmp');
    try {
      const fh = await open(path, 'w', FILE_MODE);
      try {
        await fh.writeFile(new Uint8Array(64 * 1024));
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } finally {
      await rm(path, { force: true });
    }
  }

  /** Forgets a room's bookkeeping once it is flushed (the files stay). */
  async release(roomId: string): Promise<void> {
    const r = this.rooms.get(roomId);
    if (!r) return;
    await this.flushRoom(roomId, r);
    await (r.chain = r.chain.then(() => this.closeLog(roomId, r)));
    if (r.batch === null && r.fd === null && this.rooms.get(roomId) === r)
      this.rooms.delete(roomId);
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.scheduled = false;
    this.dirty.clear();
    await this.flush();
    await Promise.all(
      [...this.rooms].map(([id, r]) => (r.chain = r.chain.then(() => this.closeLog(id, r)))),
    );
  }
}

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export const createFileStorage = (opts: FileStorageOptions): RoomStorage => new FileStorage(opts);
