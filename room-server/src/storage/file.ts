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
import { BatchedWriter, type Batch } from './batched.ts';
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

/** What the file storage keeps per room besides the batching. */
interface LogState {
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

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class FileStorage implements RoomStorage {
  /** Per-room batches, chains and compaction generations (docs/decisions/0005). */
  private readonly writer: BatchedWriter<Uint8Array[], LogState>;
  private readonly ready: Promise<unknown>;
  private readonly sync: boolean;
  private readonly maxOpenFiles: number;
  /** Rooms with an open log fd, least recently written first. */
  private readonly openLogs = new Set<string>();

  constructor(private readonly opts: FileStorageOptions) {
    const sync = opts.sync ?? process.env.ROOM_STORAGE_SYNC ?? 'write';
    if (sync !== 'write' && sync !== 'fdatasync')
      throw new Error(`ROOM_STORAGE_SYNC must be write or fdatasync, got ${sync}`);
    this.sync = sync === 'fdatasync';
    this.maxOpenFiles = Math.max(1, opts.maxOpenFiles ?? 1024);
    this.ready = this.prepare();
    this.writer = new BatchedWriter<Uint8Array[], LogState>({
      write: (roomId, log, b) => this.write(roomId, log, b),
      newState: () => ({ fd: null, size: 0 }),
      chainStart: () => this.ready.then(ignore, ignore), // a failed mkdir fails the writes instead
      ...(opts.commitWindowMs !== undefined ? { commitWindowMs: opts.commitWindowMs } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
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

  async load(roomId: string): Promise<StoredRoom> {
    await this.writer.flushOrCreate(roomId);
    const out: Uint8Array[] = [];
    const snapshot = await readIfExists(this.path(roomId, 'snapshot'));
    if (snapshot && snapshot.byteLength > 0) out.push(snapshot);
    const log = await readIfExists(this.path(roomId, 'log'));
    this.writer.setPendingBytes(roomId, log?.byteLength ?? 0);
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

  append(roomId: string, update: Uint8Array): Promise<void> | null {
    // Nothing of the room waiting or being written, its log open, no fdatasync: written now,
    // durable when this returns (null), without a batch, a promise and a microtask per update.
    if (
      !this.sync &&
      this.writer.appendNow(roomId, 4 + update.byteLength, (log) =>
        this.writeNow(roomId, log, update),
      )
    ) {
      return null;
    }
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32LE(update.byteLength, 0);
    return this.writer.append(roomId, [header, update], 4 + update.byteLength);
  }

  /** Writes one record now, if the log is open; false (nothing written) when it could not. */
  private writeNow(roomId: string, r: LogState, update: Uint8Array): boolean {
    if (r.fd === null) return false;
    const n = update.byteLength;
    const data = Buffer.allocUnsafe(4 + n);
    data.writeUInt32LE(n, 0);
    data.set(update, 4);
    try {
      writeAll(r.fd, data);
    } catch {
      // cut off what may be in the file; the batched write tries again and reports the error
      try {
        ftruncateSync(r.fd, r.size);
      } catch {
        // the load ignores a torn tail
      }
      return false;
    }
    r.size += data.byteLength;
    this.openLogs.delete(roomId); // most recently used goes last
    this.openLogs.add(roomId);
    return true;
  }

  /** Writes one batch (on the room's chain); rejects when it could not be written. */
  private async write(roomId: string, r: LogState, b: Batch<Uint8Array[]>): Promise<void> {
    const data = Buffer.concat(b.items.flat(), b.bytes);
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
  }

  /** Closes the least recently written logs beyond `maxOpenFiles`, each on its own chain. */
  private evictLogs(keep: string): void {
    for (const id of this.openLogs) {
      if (this.openLogs.size <= this.maxOpenFiles) return;
      if (id === keep) continue;
      this.openLogs.delete(id);
      void this.writer.enqueue(id, (victim) => this.closeLog(id, victim));
    }
  }

  private async closeLog(roomId: string, r: LogState): Promise<void> {
    const fd = r.fd;
    r.fd = null;
    this.openLogs.delete(roomId);
    if (fd !== null) await closeQuietly(fd);
  }

  compact(roomId: string, state: Uint8Array): Promise<void> {
    // What is appended before this call is covered by `state`, but its promises resolve when
    // it is written: the writer writes it first, in place; what comes after goes into the
    // fresh log.
    return this.writer.compact(roomId, async (r) => {
      const tmp = this.path(roomId, 'tmp');
      const snapshot = this.path(roomId, 'snapshot');
      const log = this.path(roomId, 'log');
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
  }

  flush(roomId?: string): Promise<void> {
    return this.writer.flush(roomId);
  }

  pendingBytes(roomId: string): number {
    return this.writer.pendingBytes(roomId);
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
  release(roomId: string): Promise<void> {
    return this.writer.release(
      roomId,
      (r) => this.closeLog(roomId, r),
      (r) => r.fd === null,
    );
  }

  async close(): Promise<void> {
    this.writer.stop();
    await this.flush();
    await this.writer.enqueueAll((id, r) => this.closeLog(id, r));
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
