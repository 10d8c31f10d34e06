/**
 * The one migration runner, on real PGlite and real PostgreSQL: a fresh database gets every
 * migration once, a migrated one nothing, an appended migration alone is applied, a failing
 * run leaves the database as it was, two parts keep their own bookkeeping in one database,
 * and processes migrating one PostgreSQL at the same moment apply each migration once.
 * (That the runner carries on from what the runners before it recorded is tested with each
 * part's own migrations: settlement/test/migrations.test.ts, web/test/migrations.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, type Db, type Migration, type MigrationSet } from '../src/index.ts';
import { DRIVERS, type TestDb } from './databases.ts';

const M1: Migration = {
  version: 1,
  name: 'items',
  sql: 'CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL);\nCREATE INDEX items_label ON items (label);',
};
const M2: Migration = {
  version: 2,
  name: 'item price',
  sql: "ALTER TABLE items ADD COLUMN price bigint NOT NULL DEFAULT 0;\nINSERT INTO items VALUES (1, 'semicolon; inside a literal', 5)",
};
const M3: Migration = { version: 3, name: 'tags', sql: 'CREATE TABLE tags (item int, tag text)' };

const set = (migrations: readonly Migration[], table = 'part_migrations'): MigrationSet => ({
  table,
  lockKey: 4_242_001,
  migrations,
});

async function recorded(db: Db, table = 'part_migrations') {
  return db.query<{ version: number; name: string; applied_at: Date }>(
    `SELECT version, name, applied_at FROM ${table} ORDER BY version`,
  );
}

async function tables(db: Db): Promise<string[]> {
  const rows = await db.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables
      WHERE table_schema = current_schema() ORDER BY 1`,
  );
  return rows.map((r) => r.t);
}

describe.each(DRIVERS)('migrate on %s', (_kind, open) => {
  let t: TestDb | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('applies every migration to a fresh database once; a second run applies none', async () => {
    t = await open();
    expect(await migrate(t.db, set([M1, M2]))).toEqual([1, 2]);
    const rows = await recorded(t.db);
    expect(rows.map((r) => [r.version, r.name])).toEqual([
      [1, 'items'],
      [2, 'item price'],
    ]);
    expect(rows.every((r) => r.applied_at instanceof Date)).toBe(true);
    expect(await t.db.query('SELECT label, price FROM items')).toEqual([
      { label: 'semicolon; inside a literal', price: 5 },
    ]);
    expect(await migrate(t.db, set([M1, M2]))).toEqual([]);
    expect(await recorded(t.db)).toEqual(rows);
    // a migration appended by the next release is the only one applied
    expect(await migrate(t.db, set([M1, M2, M3]))).toEqual([3]);
    expect(await tables(t.db)).toEqual(['items', 'part_migrations', 'tags']);
  });

  it('a failing migration rolls back the whole run, then the fixed list applies', async () => {
    t = await open();
    const broken: Migration = { version: 2, name: 'broken', sql: 'ALTER TABLE nowhere ADD x int' };
    await expect(migrate(t.db, set([M1, broken]))).rejects.toThrow(/nowhere/);
    // not even migration 1 nor the bookkeeping table: the database is as it was
    expect(await tables(t.db)).toEqual([]);
    expect(await migrate(t.db, set([M1, M2]))).toEqual([1, 2]);
  });

  it('two parts in one database keep their own migrations and tables', async () => {
    t = await open();
    const other: Migration = { version: 1, name: 'other', sql: 'CREATE TABLE other (x int)' };
    expect(await migrate(t.db, set([M1]))).toEqual([1]);
    expect(await migrate(t.db, { ...set([other], 'other_migrations'), lockKey: 7 })).toEqual([1]);
    expect((await recorded(t.db)).map((r) => r.name)).toEqual(['items']);
    expect((await recorded(t.db, 'other_migrations')).map((r) => r.name)).toEqual(['other']);
  });

  it('refuses a list that is not numbered 1, 2, 3 or a table that is not an identifier', async () => {
    t = await open();
    await expect(migrate(t.db, set([M1, M3]))).rejects.toThrow(/version 3, expected 2/);
    await expect(migrate(t.db, set([M2]))).rejects.toThrow(/version 2, expected 1/);
    await expect(migrate(t.db, set([M1], 'x; DROP TABLE items'))).rejects.toThrow(/identifier/);
    expect(await tables(t.db)).toEqual([]);
  });

  it('keeps each test in a schema of its own when given one', async () => {
    t = await open({ schema: 'isolated' });
    expect(await migrate(t.db, set([M1]))).toEqual([1]);
    const [row] = await t.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM information_schema.tables
        WHERE table_schema = 'isolated' AND table_name IN ('items', 'part_migrations')`,
    );
    expect(row!.n).toBe(2);
  });
});

describe('migrate, processes starting together on one PostgreSQL', () => {
  let t: TestDb | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  const open = DRIVERS.find(([k]) => k === 'postgres')![1];

  it('four runners at once: each migration is applied by exactly one of them', async () => {
    t = await open();
    const runners = [t.db, ...(await Promise.all([1, 2, 3].map(() => t!.another())))];
    // slow enough that every runner is waiting while the first one migrates
    const slow: Migration = { ...M1, sql: `SELECT pg_sleep(0.5);\n${M1.sql}` };
    const results = await Promise.all(runners.map((db) => migrate(db, set([slow, M2, M3]))));
    expect(results.flat().sort()).toEqual([1, 2, 3]);
    expect(results.filter((r) => r.length > 0)).toEqual([[1, 2, 3]]);
    expect((await recorded(t.db)).map((r) => r.version)).toEqual([1, 2, 3]);
    expect(await t.db.query('SELECT count(*) AS n FROM items')).toEqual([{ n: 1 }]);
  });

  it('a runner waits for one of the previous release holding the same lock', async () => {
    t = await open();
    const other = await t.another();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // the older runner: same lock key, same table, applies version 1 in its own transaction
    const older = other.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(4242001)');
      locked();
      await held;
      await tx.query(`CREATE TABLE part_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      await tx.exec(M1.sql);
      await tx.query(`INSERT INTO part_migrations (version, name) VALUES (1, 'items')`);
    });
    await isLocked;
    const newer = migrate(t.db, set([M1, M2]));
    await new Promise((r) => setTimeout(r, 300));
    release();
    await older;
    expect(await newer).toEqual([2]);
  });
});
