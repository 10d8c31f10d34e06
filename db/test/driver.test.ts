/**
 * The driver interface settlement and web rely on, on real PGlite and real PostgreSQL: the
 * value conventions, transactions (commit, rollback, READ COMMITTED with row locks), several
 * statements in one exec, and a schema of its own for isolation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../src/index.ts';
import { createPgDatabase } from '../src/testing.ts';
import { DRIVERS, type TestDb } from './databases.ts';

describe.each(DRIVERS)('the %s driver', (kind, open) => {
  let t: TestDb | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('returns bigint and count(*) as numbers, jsonb from text, timestamps as Date', async () => {
    t = await open();
    expect(t.db.kind).toBe(kind);
    await t.db.exec('CREATE TABLE v (n bigint, j jsonb, at timestamptz); CREATE TABLE w (x int)');
    const at = new Date('2026-01-02T03:04:05.678Z');
    await t.db.query('INSERT INTO v VALUES ($1, $2::text::jsonb, $3)', [
      9_007_199_254_740_991,
      JSON.stringify({ a: [1, 'two'] }),
      at,
    ]);
    const [row] = await t.db.query<{ n: number; j: unknown; at: Date; c: number }>(
      'SELECT n, j, at, (SELECT count(*) FROM v) AS c FROM v',
    );
    expect(row).toEqual({ n: 9_007_199_254_740_991, j: { a: [1, 'two'] }, at, c: 1 });
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    t = await open();
    await t.db.exec('CREATE TABLE k (id int PRIMARY KEY)');
    const r = await t.db.transaction(async (tx) => {
      await tx.query('INSERT INTO k VALUES (1)');
      await tx.exec('INSERT INTO k VALUES (2); INSERT INTO k VALUES (3)');
      return 'done';
    });
    expect(r).toBe('done');
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO k VALUES (4)');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await expect(t.db.transaction((tx) => tx.query('INSERT INTO k VALUES (1)'))).rejects.toThrow(
      /duplicate key/,
    );
    const rows = await t.db.query<{ id: number }>('SELECT id FROM k ORDER BY id');
    expect(rows.map((x) => x.id)).toEqual([1, 2, 3]);
  });

  it('puts unqualified names in its own schema when given one', async () => {
    t = await open({ schema: 'tenant_a' });
    await t.db.exec('CREATE TABLE s (x int)');
    const [where] = await t.db.query<{ schema: string; current: string }>(
      `SELECT table_schema AS schema, current_schema() AS current
         FROM information_schema.tables WHERE table_name = 's'`,
    );
    expect(where).toEqual({ schema: 'tenant_a', current: 'tenant_a' });
    await t.db.transaction((tx) => tx.query('INSERT INTO s VALUES (1)'));
    expect(await t.db.query('SELECT x FROM tenant_a.s')).toEqual([{ x: 1 }]);
  });

  it('refuses a schema name that is not a plain identifier, before connecting', async () => {
    await expect(openDb({ schema: 'a; DROP TABLE x' })).rejects.toThrow(/identifier/);
  });
});

describe('the postgres driver, several connections', () => {
  let t: TestDb | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  const open = DRIVERS.find(([k]) => k === 'postgres')![1];

  it('two schemas of one database do not see each other', async () => {
    t = await open({ schema: 'part_one' });
    const two = await t.another({ schema: 'part_two' });
    await t.db.exec('CREATE TABLE same_name (who text); INSERT INTO same_name VALUES ($$one$$)');
    await two.exec('CREATE TABLE same_name (who text); INSERT INTO same_name VALUES ($$two$$)');
    expect(await t.db.query('SELECT who FROM same_name')).toEqual([{ who: 'one' }]);
    expect(await two.query('SELECT who FROM same_name')).toEqual([{ who: 'two' }]);
  });

  it('runs transactions in parallel, READ COMMITTED, with row locks and SKIP LOCKED', async () => {
    t = await open();
    const db = t.db;
    // a stricter default on the database does not change what the callers rely on
    const [{ name }] = (await db.query<{ name: string }>('SELECT current_database() AS name')) as [
      { name: string },
    ];
    await db.query(`ALTER DATABASE ${name} SET default_transaction_isolation = 'serializable'`);
    const fresh = await t.another();
    expect(await fresh.query('SHOW transaction_isolation')).toEqual([
      { transaction_isolation: 'serializable' },
    ]);
    expect(await fresh.transaction((tx) => tx.query('SHOW transaction_isolation'))).toEqual([
      { transaction_isolation: 'read committed' },
    ]);

    await db.exec('CREATE TABLE job (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)');
    await db.query('INSERT INTO job (id) VALUES (1), (2)');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const first = fresh.transaction(async (tx) => {
      await tx.query('SELECT id FROM job WHERE id = 1 FOR UPDATE');
      locked();
      await held;
      await tx.query('UPDATE job SET n = n + 1 WHERE id = 1');
    });
    await isLocked;
    // a worker claiming work skips the row another transaction holds
    const free = await fresh.transaction((tx) =>
      tx.query<{ id: number }>('SELECT id FROM job ORDER BY id FOR UPDATE SKIP LOCKED'),
    );
    expect(free.map((r) => r.id)).toEqual([2]);
    // a writer waits for the lock, then sees the committed row (READ COMMITTED)
    const second = fresh.transaction(async (tx) => {
      await tx.query('SELECT id FROM job WHERE id = 1 FOR UPDATE');
      await tx.query('UPDATE job SET n = n + 1 WHERE id = 1');
    });
    release();
    await Promise.all([first, second]);
    expect(await db.query('SELECT n FROM job WHERE id = 1')).toEqual([{ n: 2 }]);
  });

  it('a database that does not exist is a clear error', async () => {
    const pg = await createPgDatabase('db_test');
    await pg.drop();
    await expect(openDb({ databaseUrl: pg.url })).rejects.toThrow(/does not exist/);
  });
});
