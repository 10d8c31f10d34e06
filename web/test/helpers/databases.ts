/**
 * The two databases web runs on, for tests that must pass on both: an in-memory PGlite, and a
 * fresh PostgreSQL database (created for the test, dropped after) on the local server.
 * PG_TEST_URL (or TEST_POSTGRES_URL) overrides the admin connection (default
 * postgres://postgres@127.0.0.1:5432/postgres).
 */
import type { Db } from '@patungan/db';
import { createPgDatabase } from '@patungan/db/testing';
import { openDb } from '../../src/lib/server/db.ts';

export interface TestDb {
  db: Db;
  close(): Promise<void>;
}

export async function pgliteTestDb(): Promise<TestDb> {
  const db = await openDb({ dataDir: 'memory://' });
  return { db, close: () => db.close() };
}

export async function postgresTestDb(): Promise<TestDb> {
  const pg = await createPgDatabase('web_test');
  let db: Db;
  try {
    db = await openDb({ databaseUrl: pg.url });
  } catch (err) {
    await pg.drop();
    throw err;
  }
  return {
    db,
    async close() {
      await db.close();
      await pg.drop();
    },
  };
}

export const DATABASES: [string, () => Promise<TestDb>][] = [
  ['PGlite', pgliteTestDb],
  ['PostgreSQL', postgresTestDb],
];
