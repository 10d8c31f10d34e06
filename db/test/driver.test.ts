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

  it('runs a statement seen before again with new values, and after what invalidates it', async () => {
    t = await open();
    const db = t.db;
    await db.exec('CREATE TABLE p (id int PRIMARY KEY, tags text[], ok boolean, at timestamptz)');
    const put = 'INSERT INTO p VALUES ($1, $2, $3, $4) RETURNING id';
    const at = new Date('2026-03-04T05:06:07.089Z');
    for (const id of [1, 2, 3]) {
      await db.query(put, [id, [`t${id}`, 'x y'], id !== 2, id === 3 ? null : at]);
    }
    const all = 'SELECT * FROM p ORDER BY id';
    expect(await db.query(all)).toEqual([
      { id: 1, tags: ['t1', 'x y'], ok: true, at },
      { id: 2, tags: ['t2', 'x y'], ok: false, at },
      { id: 3, tags: ['t3', 'x y'], ok: true, at: null },
    ]);
    // the same text with other values, in a transaction and outside one
    const byIds = 'SELECT id FROM p WHERE id = ANY($1::int[]) AND ok = $2 ORDER BY id';
    expect(await db.query(byIds, [[1, 2, 3], true])).toEqual([{ id: 1 }, { id: 3 }]);
    expect(await db.transaction((tx) => tx.query(byIds, [[2, 3], false]))).toEqual([{ id: 2 }]);
    // an error names the constraint; the statement runs again afterwards, also in a transaction
    const err = await db.query(put, [1, [], true, null]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '23505' });
    const e = err as { constraint_name?: string; constraint?: string };
    expect(e.constraint_name ?? e.constraint).toBe('p_pkey');
    await expect(db.transaction((tx) => tx.query(put, [2, [], true, null]))).rejects.toThrow(
      /duplicate key/,
    );
    expect(await db.transaction((tx) => tx.query(put, [4, [], true, null]))).toEqual([{ id: 4 }]);
    // a table that changes shape under a statement reading `*`
    await db.exec('ALTER TABLE p ADD COLUMN note text');
    expect((await db.query<{ note: unknown }>(all))[0]).toMatchObject({ id: 1, note: null });
  });

  it('refuses a schema name that is not a plain identifier, before connecting', async () => {
    await expect(openDb({ schema: 'a; DROP TABLE x' })).rejects.toThrow(/identifier/);
  });
});

describe('the pglite driver, named statements', () => {
  it('keeps at most maxPrepared of them, and prepares again what was deallocated', async () => {
    const { openPglite } = await import('../src/pglite.ts');
    const db = await openPglite(undefined, { maxPrepared: 3 });
    try {
      const texts = [1, 2, 3, 4, 5].map((n) => `SELECT $1::int + ${n} AS v`);
      for (let round = 0; round < 2; round++) {
        for (const [i, text] of texts.entries()) {
          expect(await db.query(text, [10])).toEqual([{ v: 11 + i }]);
        }
      }
      const kept = 'SELECT count(*) AS n FROM pg_prepared_statements';
      expect(await db.query(kept)).toEqual([{ n: 3 }]);
      // statements deallocated behind the driver's back are prepared again
      await db.exec('DEALLOCATE ALL');
      expect(await db.query(texts[4]!, [1])).toEqual([{ v: 6 }]);
      expect(await db.transaction((tx) => tx.query(texts[3]!, [1]))).toEqual([{ v: 5 }]);
    } finally {
      await db.close();
    }
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
