/**
 * The two databases web runs on, for tests that must pass on both: an in-memory PGlite, and a
 * fresh PostgreSQL database (created for the test, dropped after) on the local server.
 * PG_TEST_URL overrides the admin connection (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDb, type Db } from '../../src/lib/server/db.ts';

export interface TestDb {
  db: Db;
  close(): Promise<void>;
}

const ADMIN_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function pgliteTestDb(): Promise<TestDb> {
  const db = await openDb({ dataDir: 'memory://' });
  return { db, close: () => db.close() };
}

export async function postgresTestDb(): Promise<TestDb> {
  const name = `web_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let db: Db;
  try {
    db = await openDb({ databaseUrl: url.toString() });
  } catch (err) {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    throw err;
  }
  return {
    db,
    async close() {
      await db.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export const DATABASES: [string, () => Promise<TestDb>][] = [
  ['PGlite', pgliteTestDb],
  ['PostgreSQL', postgresTestDb],
];
