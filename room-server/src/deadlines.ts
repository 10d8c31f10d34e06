/**
 * Deadlines that act (docs/contracts.md "Deadline"): when `meta.deadline` passes while a room is
 * `open`, the room is finalised through the organiser's path (settlement/finalise.ts, same
 * idempotency), or locked with `settlement.lastError` saying why — exactly once across every
 * instance, whether or not anyone is connected to the room then.
 *
 * Pending deadlines live in a durable index (`DeadlineIndex`: a Redis sorted set in scaled
 * mode, a file under DATA_DIR in embedded mode), kept up to date by every instance that has
 * the room loaded (a moved deadline replaces the entry, a removed one deletes it). Every
 * instance scans the index; a due entry is acted on by the one instance that wins its lease,
 * after checking the document still says so. Firing removes `meta.deadline`, so a room the
 * organiser reopens later is not locked again by the deadline that already passed
 * (docs/decisions/0012-deadlines-that-act.md).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type * as Y from 'yjs';
import {
  ROOT,
  cartSnapshot,
  computeSplit,
  metaMap,
  roomStatus,
  settlementMap,
} from '@patungan/model';
import type { RefusalDetails } from '@patungan/model/contracts';
import type { RoomExtension, RoomHandle } from './hooks.ts';
import { serviceOrigin } from './origins.ts';
import type { Room } from './room.ts';
import type { Rooms } from './rooms.ts';
import { finalise } from './settlement/finalise.ts';
import type { SettlementClientOptions } from './settlement/finalise.ts';

/** Where pending deadlines are kept, shared by every instance. */
export interface DeadlineIndex {
  /** Puts or moves a room's pending deadline (ms since the epoch). */
  set(roomId: string, at: number): Promise<void>;
  /** Removes a room's pending deadline; with `at`, only while it is still that one. */
  remove(roomId: string, at?: number): Promise<void>;
  /** Rooms whose deadline is at or before `now`, earliest first. */
  due(now: number, limit: number): Promise<{ roomId: string; at: number }[]>;
  /** The lease on acting on one deadline: true for one caller across all instances. */
  claim(roomId: string, at: number, ttlMs: number): Promise<boolean>;
}

/**
 * Embedded mode: one instance, so the lease is a set of what is in hand here. With a `file`
 * the index survives restarts (written whole, through a temporary file and a rename).
 */
export class LocalDeadlineIndex implements DeadlineIndex {
  readonly #due = new Map<string, number>();
  readonly #claimed = new Map<string, number>();
  #loaded: Promise<void> | null = null;
  #writing: Promise<void> = Promise.resolve();

  constructor(private readonly file?: string) {}

  #load(): Promise<void> {
    return (this.#loaded ??= (async () => {
      if (!this.file) return;
      try {
        const saved = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, unknown>;
        for (const [id, at] of Object.entries(saved)) {
          if (typeof at === 'number' && Number.isFinite(at)) this.#due.set(id, at);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    })());
  }

  #save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const body = JSON.stringify(Object.fromEntries(this.#due));
    // a failed write (full disk) fails its caller, not every later one
    this.#writing = this.#writing
      .catch(() => {})
      .then(async () => {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(`${file}.tmp`, body, { mode: 0o600 });
        await rename(`${file}.tmp`, file);
      });
    return this.#writing;
  }

  async set(roomId: string, at: number): Promise<void> {
    await this.#load();
    if (this.#due.get(roomId) === at) return;
    this.#due.set(roomId, at);
    await this.#save();
  }

  async remove(roomId: string, at?: number): Promise<void> {
    await this.#load();
    if (!this.#due.has(roomId) || (at !== undefined && this.#due.get(roomId) !== at)) return;
    this.#due.delete(roomId);
    await this.#save();
  }

  async due(now: number, limit: number): Promise<{ roomId: string; at: number }[]> {
    await this.#load();
    return [...this.#due]
      .filter(([, at]) => at <= now)
      .sort((a, b) => a[1] - b[1])
      .slice(0, limit)
      .map(([roomId, at]) => ({ roomId, at }));
  }

  async claim(roomId: string, at: number, ttlMs: number): Promise<boolean> {
    const key = `${roomId}:${at}`;
    const now = Date.now();
    const held = this.#claimed.get(key);
    if (held !== undefined && held > now) return false;
    this.#claimed.set(key, now + ttlMs);
    for (const [k, until] of this.#claimed) if (until <= now) this.#claimed.delete(k);
    return true;
  }
}

/** A deadline as the document holds it: ms since the epoch, or null (none, or not a time). */
export function deadlineOf(doc: Y.Doc): number | null {
  const d: unknown = metaMap(doc).get('deadline');
  if (typeof d !== 'string') return null;
  const t = Date.parse(d);
  return Number.isFinite(t) ? t : null;
}

/** Why a room whose deadline passed cannot be finalised, or null when it can. */
export function deadlineBlocker(doc: Y.Doc, roomId: string): RefusalDetails | null {
  const snap = cartSnapshot(doc, roomId);
  if (snap.lines.length === 0) return { code: 'empty_cart' };
  if (!snap.storeId) return { code: 'no_store' };
  try {
    // prices are settlement's; any positive amounts show whether the split itself computes
    computeSplit({
      members: snap.members.map((m) => m.id),
      lines: snap.lines.map((l) => ({
        id: l.id,
        amount: l.qty,
        addedBy: l.addedBy,
        ...(l.sharedWith ? { sharedWith: l.sharedWith } : {}),
      })),
      split: snap.split,
    });
  } catch {
    return { code: 'invalid_split' };
  }
  return null;
}

const BLOCKER_REASON: Record<string, string> = {
  empty_cart: 'the deadline passed with an empty cart',
  no_store: 'the deadline passed before a pickup store was chosen',
  invalid_split: 'the deadline passed but the split does not compute',
};

const DEADLINE = serviceOrigin('deadline');
const SERVICE = { id: 'room-server', role: 'service', name: 'deadline' } as const;

export interface DeadlineOptions {
  index: DeadlineIndex;
  rooms: Rooms;
  settlement: SettlementClientOptions;
  log: Logger;
  /** How often the index is scanned (DEADLINE_SCAN_MS, default 1000). */
  scanMs?: number;
  /** How long one instance holds a deadline's lease (default 120 s: a finalise with retries). */
  leaseMs?: number;
}

/**
 * The deadline scheduler of one instance: an extension that keeps the index in step with the
 * rooms loaded here, and a scan that acts on due deadlines it wins the lease of.
 */
export class Deadlines implements RoomExtension {
  readonly name = 'deadlines';
  readonly #o: DeadlineOptions;
  readonly #timer: NodeJS.Timeout;
  #scanning: Promise<void> | null = null;
  #closed = false;

  constructor(o: DeadlineOptions) {
    this.#o = o;
    this.#timer = setInterval(() => void this.scan(), o.scanMs ?? 1000);
    this.#timer.unref();
  }

  /** Indexes the room's deadline at load, and again whenever its deadline or status changes. */
  async loadRoom(room: RoomHandle): Promise<void> {
    const doc = room.doc;
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      const meta = doc.share.get(ROOT.meta);
      const keys = meta && tr.changed.get(meta);
      if (keys && (keys.has('deadline') || keys.has('status'))) void this.#sync(room.id, doc);
    });
    if (doc.share.get(ROOT.meta)) await this.#sync(room.id, doc);
  }

  async #sync(roomId: string, doc: Y.Doc): Promise<void> {
    const at = deadlineOf(doc);
    try {
      if (at !== null && roomStatus(doc) === 'open') await this.#o.index.set(roomId, at);
      else await this.#o.index.remove(roomId);
    } catch (err) {
      this.#o.log.warn({ roomId, err }, 'deadline index not updated');
    }
  }

  /** One pass over the due deadlines (also run by the timer). */
  scan(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return (this.#scanning ??= this.#scan().finally(() => (this.#scanning = null)));
  }

  async #scan(): Promise<void> {
    const { index, log } = this.#o;
    let due: { roomId: string; at: number }[];
    try {
      due = await index.due(Date.now(), 20);
    } catch (err) {
      log.warn({ err }, 'deadline index not readable');
      return;
    }
    for (const { roomId, at } of due) {
      if (this.#closed) return;
      try {
        if (!(await index.claim(roomId, at, this.#o.leaseMs ?? 120_000))) continue;
        await this.#fire(roomId, at);
      } catch (err) {
        log.error({ roomId, err }, 'deadline not handled, retried after its lease');
      }
    }
  }

  async #fire(roomId: string, at: number): Promise<void> {
    const { index, rooms, log } = this.#o;
    const room: Room = await rooms.acquire(roomId);
    room.hold();
    try {
      const doc = room.doc;
      const current = deadlineOf(doc);
      if (roomStatus(doc) !== 'open' || current === null || !metaMap(doc).get('organiser')) {
        await index.remove(roomId, at);
        return;
      }
      if (current !== at) {
        // Moved since it was indexed: the document is the truth. The new time has a lease of
        // its own, so acting here could race its holder; re-index and let that lease decide.
        await index.set(roomId, current);
        return;
      }
      const blocker = deadlineBlocker(doc, roomId);
      const rlog = log.child({ roomId, deadline: new Date(at).toISOString() });
      if (blocker) {
        const reason = BLOCKER_REASON[blocker.code] ?? 'the deadline passed';
        await room.transact((d) => {
          metaMap(d).delete('deadline');
          metaMap(d).set('status', 'locked');
          settlementMap(d).set('lastError', reason);
          settlementMap(d).set('lastErrorDetails', blocker);
        }, DEADLINE);
        rlog.info({ code: blocker.code }, 'deadline passed: room locked');
      } else {
        await room.transact((d) => metaMap(d).delete('deadline'), DEADLINE);
        let status = 0;
        try {
          status = (await finalise(room, SERVICE, {}, this.#o.settlement)).status;
        } catch (err) {
          rlog.warn({ err: (err as Error).message }, 'deadline finalise refused');
        }
        // A refusal reopened the room with its reason; past the deadline it stays locked.
        if (status !== 202 && roomStatus(doc) === 'open') {
          await room.transact((d) => metaMap(d).set('status', 'locked'), DEADLINE);
        }
        rlog.info(
          { status },
          status === 202
            ? 'deadline passed: room finalised'
            : 'deadline passed: finalise refused, room locked',
        );
      }
      await index.remove(roomId, at);
    } finally {
      room.release();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#scanning;
  }
}
