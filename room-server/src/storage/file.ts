/**
 * Embedded-mode storage: per room, a snapshot file and an append-only update log under `dir`
 * (DATA_DIR/rooms).
 *
 *   <roomId>.snapshot   the whole document state at the last compaction (written to a temp
 *                       file, fsynced, then renamed over the old one: never half-written)
 *   <roomId>.log        updates since then, each as [u32 little-endian length][update bytes]
 *
 * Appends are buffered for `flushIntervalMs` and written with one append per room, so a
 * burst of updates costs one write; the logs of recently written rooms stay open (at most
 * `maxOpenFiles`, least recently used closed first) so a write is one `write(2)`. A crash loses at most that window (a clean exit flushes
 * first); a record cut short by a crash is ignored on load. Compaction runs on the room's
 * own promise chain, after every log write issued before it: the snapshot is in place before
 * the log is emptied, and a crash between the two only replays updates the snapshot already
 * holds (applying a Yjs update twice is harmless).
 */
import { close as closeFd, open as openFd, writeSync } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RoomStorage } from './types.ts';

export interface FileStorageOptions {
  /** Directory holding the room files (created if missing). */
  dir: string;
  /** How long appends are buffered before they are written (default 20 ms). */
  flushIntervalMs?: number;
  /** Log files kept open for appending (default 1024; sockets need the rest of the fd limit). */
  maxOpenFiles?: number;
  /** Called when a background write fails (it is also reported by the next `flush`). */
  onError?: (err: unknown, roomId: string) => void;
}

interface FileRoom {
  pending: Uint8Array[];
  /** Bytes in the log since the last compaction, including what is still buffered. */
  logBytes: number;
  /** Every write of this room runs on this chain, in order. */
  chain: Promise<void>;
  /** The last background write error, reported by the next flush. */
  error: unknown;
  /** Open log file descriptor (append mode), or null. */
  fd: number | null;
}

const openAppend = (path: string) =>
  new Promise<number>((resolve, reject) =>
    openFd(path, 'a', (err, fd) => (err ? reject(err) : resolve(fd))),
  );
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

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class FileStorage implements RoomStorage {
  private readonly rooms = new Map<string, FileRoom>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly ready: Promise<unknown>;
  private readonly flushIntervalMs: number;
  private readonly maxOpenFiles: number;
  /** Rooms with an open log fd, least recently written first. */
  private readonly openLogs = new Set<string>();

  constructor(private readonly opts: FileStorageOptions) {
    this.flushIntervalMs = opts.flushIntervalMs ?? 20;
    this.maxOpenFiles = Math.max(1, opts.maxOpenFiles ?? 1024);
    this.ready = mkdir(opts.dir, { recursive: true });
  }

  private path(roomId: string, ext: 'snapshot' | 'log' | 'tmp'): string {
    if (!SAFE_ID.test(roomId)) throw new Error(`invalid room id ${JSON.stringify(roomId)}`);
    return join(this.opts.dir, `${roomId}.${ext}`);
  }

  private room(roomId: string): FileRoom {
    let r = this.rooms.get(roomId);
    if (!r) {
      r = { pending: [], logBytes: 0, chain: this.ready.then(() => {}), error: null, fd: null };
      this.rooms.set(roomId, r);
    }
    return r;
  }

  async load(roomId: string): Promise<Uint8Array[]> {
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
    return out;
  }

  append(roomId: string, update: Uint8Array): void {
    const r = this.room(roomId);
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32LE(update.byteLength, 0);
    r.pending.push(header, update);
    r.logBytes += 4 + update.byteLength;
    this.dirty.add(roomId);
    this.timer ??= setTimeout(() => this.flushDirty(), this.flushIntervalMs);
  }

  private flushDirty(): void {
    this.timer = null;
    for (const id of this.dirty) {
      const r = this.rooms.get(id);
      if (r) this.flushRoom(id, r).catch((err) => this.opts.onError?.(err, id));
    }
    this.dirty.clear();
  }

  private flushRoom(roomId: string, r: FileRoom): Promise<void> {
    if (r.pending.length > 0) {
      const data = Buffer.concat(r.pending);
      r.pending = [];
      const logPath = this.path(roomId, 'log');
      r.chain = r.chain.then(async () => {
        try {
          if (r.fd === null) {
            r.fd = await openAppend(logPath);
            this.openLogs.add(roomId);
            this.evictLogs(roomId);
          } else {
            this.openLogs.delete(roomId); // most recently used goes last
            this.openLogs.add(roomId);
          }
          writeAll(r.fd, data);
        } catch (err) {
          r.error = err;
        }
      });
    }
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
    // Buffered appends are covered by `state`: drop them rather than write them twice.
    r.pending = [];
    r.logBytes = 0;
    const tmp = this.path(roomId, 'tmp');
    const snapshot = this.path(roomId, 'snapshot');
    const log = this.path(roomId, 'log');
    const done = r.chain.then(async () => {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(state);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, snapshot);
      // truncate through a fresh file: the cached append fd (if any) is closed first
      await this.closeLog(roomId, r);
      await writeFile(log, new Uint8Array(0));
    });
    r.chain = done.catch(() => {});
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

  /** Forgets a room's bookkeeping once it is flushed (the files stay). */
  async release(roomId: string): Promise<void> {
    const r = this.rooms.get(roomId);
    if (!r) return;
    await this.flushRoom(roomId, r);
    await (r.chain = r.chain.then(() => this.closeLog(roomId, r)));
    if (r.pending.length === 0 && r.fd === null && this.rooms.get(roomId) === r)
      this.rooms.delete(roomId);
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
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
