/**
 * One test scenario, two databases: every suite runs over PGlite (in memory) and a fresh
 * PostgreSQL database `settle_<random>` that the test creates and drops.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDb, type Db } from '../../src/db/driver.ts';

export type Driver = 'pglite' | 'postgres';
export const DRIVERS: readonly Driver[] = ['pglite', 'postgres'];

export const PG_ADMIN_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDb {
  driver: Driver;
  /** Set for postgres: the fresh database's URL (child processes connect with it). */
  url?: string;
  db: Db;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

/** Creates an empty PostgreSQL database and returns its URL and a function that drops it. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `settle_${randomBytes(6).toString('hex')}`;
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    async drop() {
      const a = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export async function freshDb(driver: Driver, poolSize?: number): Promise<TestDb> {
  if (driver === 'pglite') {
    const db = await openDb({});
    return { driver, db, drop: () => db.close() };
  }
  const pg = await createPgDatabase();
  const db = await openDb({ databaseUrl: pg.url, ...(poolSize ? { poolSize } : {}) });
  return {
    driver,
    url: pg.url,
    db,
    async drop() {
      await db.close();
      await pg.drop();
    },
  };
}
