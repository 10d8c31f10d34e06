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
import { BatchedWriter, type Batch } from './batched.ts';
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

/** What the PostgreSQL storage keeps per room besides the batching. */
interface RowState {
  /** The highest id this process wrote for the room (a compaction covers up to it). */
  lastId: number;
}

const ignore = () => {};

const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class PostgresStorage implements RoomStorage {
  /** Per-room batches, chains and compaction generations (docs/decisions/0005). */
  private readonly writer: BatchedWriter<Buffer, RowState>;
  private closed = false;

  /** Use `openPostgresStorage`, which opens the pool and migrates first. */
  constructor(
    private readonly db: Db,
    onError?: (err: unknown, roomId: string) => void,
  ) {
    this.writer = new BatchedWriter<Buffer, RowState>({
      write: (roomId, r, b) => this.write(roomId, r, b),
      newState: () => ({ lastId: 0 }),
      ...(onError ? { onError } : {}),
    });
  }

  async load(roomId: string): Promise<StoredRoom> {
    await this.writer.flushOrCreate(roomId);
    const r = this.writer.state(roomId);
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
    this.writer.setPendingBytes(roomId, bytes + this.writer.unwrittenBytes(roomId));
    return { updates: out };
  }

  append(roomId: string, update: Uint8Array): Promise<void> {
    if (this.closed) {
      const closed = Promise.reject(new Error('room storage is closed'));
      closed.catch(ignore);
      return closed;
    }
    return this.writer.append(roomId, asBuffer(update.slice()), update.byteLength);
  }

  /** Inserts one batch (on the room's chain); rejects, storing nothing, when it fails. */
  private async write(roomId: string, r: RowState, b: Batch<Buffer>): Promise<void> {
    const insert = async (q: Queryable, updates: Buffer[]) => {
      const values = updates.map((_, i) => `($1, $${i + 2})`).join(', ');
      const rows = await q.query<{ id: number }>(
        `INSERT INTO room_updates (room_id, update) VALUES ${values} RETURNING id`,
        [roomId, ...updates],
      );
      for (const row of rows) r.lastId = Math.max(r.lastId, row.id);
    };
    if (b.items.length <= ROWS_PER_INSERT) await insert(this.db, b.items);
    else
      await this.db.transaction(async (tx) => {
        for (let i = 0; i < b.items.length; i += ROWS_PER_INSERT)
          await insert(tx, b.items.slice(i, i + ROWS_PER_INSERT));
      });
  }

  compact(roomId: string, state: Uint8Array): Promise<void> {
    // What is appended before this call is covered by `state`, but its promises resolve when
    // it is written: the writer inserts it first; what comes after is inserted after the
    // compaction.
    const snapshot = asBuffer(state.slice());
    return this.writer.compact(roomId, async (r) => {
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
  }

  flush(roomId?: string): Promise<void> {
    return this.writer.flush(roomId);
  }

  pendingBytes(roomId: string): number {
    return this.writer.pendingBytes(roomId);
  }

  /** Does the database answer again? (A failed insert stored nothing; the next one retries.) */
  async probe(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  /** Forgets a room's bookkeeping once it is flushed (its rows stay). */
  release(roomId: string): Promise<void> {
    return this.writer.release(roomId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.writer.stop();
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
