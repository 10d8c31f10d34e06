/**
 * Settlement's migrations under the runner it shares with web (@patungan/db): a database the
 * runner of earlier releases migrated (its `schema_migrations` rows, its lock) carries on where
 * it stopped, on PGlite and on PostgreSQL, also while a process of that release migrates it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '@patungan/db';
import { openTestDb } from '@patungan/db/testing';
import { migrate, MIGRATIONS } from '../src/db/migrations.ts';
import { DRIVERS } from './support/db.ts';

/** The runner settlement shipped before the shared one, as it was (only the list is a parameter). */
function previousRunner(db: Db, migrations: typeof MIGRATIONS): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(6190878)');
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map(
        (r) => r.version,
      ),
    );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}

const versions = async (db: Db) =>
  (
    await db.query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    )
  ).map((r) => `${r.version} ${r.name}`);

// PGlite's first database of the process runs initdb: seconds, more on a busy machine
describe.each(DRIVERS)('settlement migrations on %s', (driver) => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });

  it('recognise what the previous runner applied and add only what it had not', async () => {
    const e = await openTestDb(driver);
    drop = e.close;
    // a database of a release that had migration 1 only
    expect(await previousRunner(e.db, MIGRATIONS.slice(0, 1))).toEqual([1]);
    expect(await migrate(e.db)).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
    expect(await versions(e.db)).toEqual(MIGRATIONS.map((m) => `${m.version} ${m.name}`));
    // migration 2's columns are there
    const cols = await e.db.query<{ c: string }>(
      `SELECT column_name AS c FROM information_schema.columns
        WHERE table_name = 'settlements' AND column_name IN ('unpaid', 'hold_extended_at')`,
    );
    expect(cols).toHaveLength(2);
    // and the previous runner, still deployed next to this one, finds nothing left to do
    expect(await previousRunner(e.db, MIGRATIONS)).toEqual([]);
    expect(await migrate(e.db)).toEqual([]);
  }, 120_000);

  it('a database the previous runner fully migrated needs nothing', async () => {
    const e = await openTestDb(driver);
    drop = e.close;
    await previousRunner(e.db, MIGRATIONS);
    const before = await versions(e.db);
    expect(await migrate(e.db)).toEqual([]);
    expect(await versions(e.db)).toEqual(before);
  }, 120_000);
});

describe('settlement migrations on postgres, two releases at once', () => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });

  it('a process of the previous release and one of this release migrating at once', async () => {
    const e = await openTestDb('postgres', { poolSize: 2 });
    drop = e.close;
    const [a, b] = [e.db, await e.another()];
    const runs = await Promise.all([previousRunner(a, MIGRATIONS), migrate(b)]);
    expect(runs.flat().sort()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(runs.filter((r) => r.length)).toHaveLength(1);
    expect(await versions(e.db)).toHaveLength(MIGRATIONS.length);
  });
});
