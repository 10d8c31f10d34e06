/**
 * Room storage in PostgreSQL, for a single room-server without Redis that keeps its rooms in
 * a database rather than in files (`ROOM_STORAGE_URL`), through the shared database layer
 * (`@patungan/db`, docs/decisions/0008). Two tables:
 *
 *   room_updates    (id bigserial, room_id, update bytea): updates since the last compaction
 *   room_snapshots  (room_id PRIMARY KEY, state bytea, upto bigint): the whole state at the
 *                   last compaction, covering every update of the room with id <= upto
 *
 * Group commit (docs/decisions/0005), as the file storage does it: the appends one callback
 * makes (every frame of one socket read) are inserted with one `INSERT … VALUES (…), (…)` per
 * room when it returns (a microtask), and `append` resolves once that statement committed;
 * the core broadcasts them only then. Every write of a room runs on the room's own promise
 * chain, in order: appends made while an insert is in flight form the next one.
 *
 * `compact` runs on that chain after every insert issued before it, in one transaction: the
 * snapshot is replaced and exactly the updates it covers (ids up to the last one written
 * before the call) are deleted; anything appended after the call is inserted after it and
 * kept. A failed insert stores nothing of its batch (one statement) and rejects the batch's
 * promises and the next `flush`. Rows are ordered by id, so `load` returns the snapshot, then
 * the updates after it in the order they were appended.
 */
import { migrate, openDb, type Db, type Migration, type Queryable } from '@patungan/db';
import type { RoomStorage, StoredRoom } from './types.ts';

export interface PostgresStorageOptions {
  /** PostgreSQL connection string (`ROOM_STORAGE_URL`). */
  databaseUrl: string;
  /** Tables in this schema (created when missing); default: the server's (`public`). */
  schema?: string;
  /** Connections in the pool (default 4: one insert per room at a time, compactions). */
  poolSize?: number;
  /** Called when a write fails (the append's promise rejects too, and the next `flush`). */
  onError?: (err: unknown, roomId: string) => void;
}

/** The room storage's own migrations (never edit one once committed: add the next). */
export const ROOM_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'room updates and snapshots',
    sql: `
      CREATE TABLE room_updates (
        id bigserial PRIMARY KEY,
        room_id text NOT NULL,
        update bytea NOT NULL
      );
      CREATE INDEX room_updates_room_id ON room_updates (room_id, id);
      CREATE TABLE room_snapshots (
        room_id text PRIMARY KEY,
        state bytea NOT NULL,
        upto bigint NOT NULL
      );`,
  },
];
/** The advisory lock key of these migrations: keep it once chosen. */
export const ROOM_MIGRATIONS_LOCK_KEY = 720_051_006;

/** Bind parameters per INSERT statement stay well below PostgreSQL's 65,535. */
const ROWS_PER_INSERT = 1000;

interface Batch {
  updates: Buffer[];
  bytes: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface PgRoom {
  /** Appends not written yet, or null. */
  batch: Batch | null;
  /** A write step for the open batch is on the chain and has not started. */
  queued: boolean;
  /** Bumped by compaction: write steps queued before it leave later batches alone. */
  gen: number;
  /** Bytes of updates stored since the last compaction, including what is not written yet. */
  bytes: number;
  /** The highest id this process wrote for the room (a compaction covers up to it). */
  lastId: number;
  /** Every write of this room runs on this chain, in order. */
  chain: Promise<void>;
  /** The last write error, reported by the next flush. */
  error: unknown;
}

const ignore = () => {};

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(ignore); // reported to whoever awaits it, and by the next flush
  return { updates: [], bytes: 0, promise, resolve, reject };
}

const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class PostgresStorage implements RoomStorage {
  private readonly rooms = new Map<string, PgRoom>();
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private closed = false;

  /** Use `openPostgresStorage`, which opens the pool and migrates first. */
  constructor(
    private readonly db: Db,
    private readonly onError?: (err: unknown, roomId: string) => void,
  ) {}

  private room(roomId: string): PgRoom {
    let r = this.rooms.get(roomId);
    if (!r) {
      r = {
        batch: null,
        queued: false,
        gen: 0,
        bytes: 0,
        lastId: 0,
        chain: Promise.resolve(),
        error: null,
      };
      this.rooms.set(roomId, r);
    }
    return r;
  }

  async load(roomId: string): Promise<StoredRoom> {
    const r = this.room(roomId);
    await this.flushRoom(roomId, r);
    // one statement, so one moment: the snapshot and the updates after it, never split by a
    // compaction committing in between
    const rows = await this.db.query<{ kind: number; id: number; data: Uint8Array }>(
      `SELECT 0 AS kind, upto AS id, state AS data FROM room_snapshots WHERE room_id = $1
       UNION ALL
       SELECT 1, id, update FROM room_updates WHERE room_id = $1
         AND id > COALESCE((SELECT upto FROM room_snapshots WHERE room_id = $1), 0)
       ORDER BY kind, id`,
      [roomId],
    );
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (const row of rows) {
      r.lastId = Math.max(r.lastId, row.id);
      if (row.data.byteLength === 0) continue;
      out.push(row.data);
      if (row.kind === 1) bytes += row.data.byteLength;
    }
    r.bytes = bytes + (r.batch?.bytes ?? 0);
    return { updates: out };
  }

  append(roomId: string, update: Uint8Array): Promise<void> {
    if (this.closed) {
      const closed = Promise.reject(new Error('room storage is closed'));
      closed.catch(ignore);
      return closed;
    }
    const r = this.room(roomId);
    const b = (r.batch ??= newBatch());
    b.updates.push(asBuffer(update.slice()));
    b.bytes += update.byteLength;
    r.bytes += update.byteLength;
    if (!r.queued) {
      this.dirty.add(roomId);
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(this.commit);
      }
    }
    return b.promise;
  }

  /** Queues a write step for every room with appends of this turn. */
  private readonly commit = (): void => {
    this.scheduled = false;
    for (const id of this.dirty) {
      const r = this.rooms.get(id);
      if (r) this.queueWrite(id, r);
    }
    this.dirty.clear();
  };

  /** Puts one write step on the room's chain; it takes the batch when it runs. */
  private queueWrite(roomId: string, r: PgRoom): void {
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

  /** Inserts one batch (on the room's chain). Never rejects: the batch's promise does. */
  private async write(roomId: string, r: PgRoom, b: Batch): Promise<void> {
    try {
      const insert = async (q: Queryable, updates: Buffer[]) => {
        const values = updates.map((_, i) => `($1, $${i + 2})`).join(', ');
        const rows = await q.query<{ id: number }>(
          `INSERT INTO room_updates (room_id, update) VALUES ${values} RETURNING id`,
          [roomId, ...updates],
        );
        for (const row of rows) r.lastId = Math.max(r.lastId, row.id);
      };
      if (b.updates.length <= ROWS_PER_INSERT) await insert(this.db, b.updates);
      else
        await this.db.transaction(async (tx) => {
          for (let i = 0; i < b.updates.length; i += ROWS_PER_INSERT)
            await insert(tx, b.updates.slice(i, i + ROWS_PER_INSERT));
        });
      b.resolve();
    } catch (err) {
      r.bytes = Math.max(0, r.bytes - b.bytes);
      r.error = err;
      this.onError?.(err, roomId);
      b.reject(err);
    }
  }

  private flushRoom(roomId: string, r: PgRoom): Promise<void> {
    this.queueWrite(roomId, r);
    return r.chain.then(() => {
      const err = r.error;
      if (err) {
        r.error = null;
        throw err;
      }
    });
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    const r = this.room(roomId);
    // What is appended before this call is covered by `state`, but its promises resolve when
    // it is written: write it first; what comes after is inserted after the compaction.
    const b = r.batch;
    r.batch = null;
    r.gen++;
    r.queued = false;
    r.bytes = 0;
    if (b) r.chain = r.chain.then(() => this.write(roomId, r, b));
    const snapshot = asBuffer(state.slice());
    const done = r.chain.then(async () => {
      const upto = r.lastId;
      await this.db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO room_snapshots (room_id, state, upto) VALUES ($1, $2, $3)
           ON CONFLICT (room_id) DO UPDATE SET state = EXCLUDED.state,
             upto = GREATEST(room_snapshots.upto, EXCLUDED.upto)`,
          [roomId, snapshot, upto],
        );
        await tx.query('DELETE FROM room_updates WHERE room_id = $1 AND id <= $2', [roomId, upto]);
      });
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
    return this.rooms.get(roomId)?.bytes ?? 0;
  }

  /** Does the database answer again? (A failed insert stored nothing; the next one retries.) */
  async probe(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  /** Forgets a room's bookkeeping once it is flushed (its rows stay). */
  async release(roomId: string): Promise<void> {
    const r = this.rooms.get(roomId);
    if (!r) return;
    await this.flushRoom(roomId, r);
    await r.chain;
    if (r.batch === null && !r.queued && this.rooms.get(roomId) === r) this.rooms.delete(roomId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.commit();
    try {
      await this.flush();
    } finally {
      this.closed = true;
      await this.db.close();
    }
  }
}

/** Opens the pool, applies the room storage's migrations, and returns the storage. */
export async function openPostgresStorage(opts: PostgresStorageOptions): Promise<PostgresStorage> {
  const db = await openDb({
    databaseUrl: opts.databaseUrl,
    poolSize: opts.poolSize ?? 4,
    ...(opts.schema !== undefined ? { schema: opts.schema } : {}),
  });
  try {
    await migrate(db, {
      table: 'room_migrations',
      lockKey: ROOM_MIGRATIONS_LOCK_KEY,
      migrations: ROOM_MIGRATIONS,
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  return new PostgresStorage(db, opts.onError);
}
