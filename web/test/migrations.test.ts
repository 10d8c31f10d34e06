/**
 * Web's migrations under the runner it shares with settlement (@patungan/db): a database the
 * runner of earlier releases migrated (its `web_migrations` rows) carries on where it stopped,
 * on PGlite and on PostgreSQL, and opening it keeps every account.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openDb as openDriver, type Db } from '@patungan/db';
import { createPgDatabase } from '@patungan/db/testing';
import { register, login } from '../src/lib/server/auth.ts';
import { openDb } from '../src/lib/server/db.ts';
import { migrate, MIGRATIONS } from '../src/lib/server/migrations.ts';

/** The runner web shipped before the shared one, as it was (only the list is a parameter). */
async function previousRunner(db: Db, migrations: typeof MIGRATIONS): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS web_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: number[] = [];
  for (const m of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [7_202_611]);
      const rows = await tx.query('SELECT 1 FROM web_migrations WHERE version = $1', [m.version]);
      if (rows.length) return false;
      for (const stmt of m.sql
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean))
        await tx.query(stmt);
      await tx.query('INSERT INTO web_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}

const versions = async (db: Db) =>
  (
    await db.query<{ version: number; name: string }>(
      'SELECT version, name FROM web_migrations ORDER BY version',
    )
  ).map((r) => `${r.version} ${r.name}`);

describe('web migrations', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('PGlite: a database the previous runner migrated needs nothing', async () => {
    const db = await openDriver({ dataDir: 'memory://' });
    cleanup = () => db.close();
    expect(await previousRunner(db, MIGRATIONS)).toEqual(MIGRATIONS.map((m) => m.version));
    const before = await versions(db);
    expect(await migrate(db)).toEqual([]);
    expect(await versions(db)).toEqual(before);
  }, 120_000); // initdb: seconds, more on a busy machine

  it('PostgreSQL: web opens a database the previous runner migrated, accounts intact', async () => {
    const pg = await createPgDatabase('web_test');
    const old = await openDriver({ databaseUrl: pg.url });
    cleanup = async () => {
      await old.close();
      await pg.drop();
    };
    await previousRunner(old, MIGRATIONS);
    await register(old, { email: 'ana@example.com', password: 'secret123', name: 'Ana' });
    const before = await versions(old);

    const db = await openDb({ databaseUrl: pg.url });
    try {
      expect(await versions(db)).toEqual(before);
      expect(
        await login(db, { email: 'ana@example.com', password: 'secret123', ip: '127.0.0.1' }),
      ).toMatchObject({
        name: 'Ana',
      });
      // the previous runner, still deployed next to this release, finds nothing left to do
      expect(await previousRunner(old, MIGRATIONS)).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
