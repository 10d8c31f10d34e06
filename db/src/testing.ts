/**
 * For tests only (`@patungan/db/testing`): a fresh PostgreSQL database of its own for a test,
 * dropped afterwards, on the local server. The admin connection is TEST_POSTGRES_URL (or
 * PG_TEST_URL), default postgres://postgres@127.0.0.1:5432/postgres.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { checkIdentifier } from './driver.ts';

export const PG_ADMIN_URL =
  process.env.TEST_POSTGRES_URL ??
  process.env.PG_TEST_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

export interface PgDatabase {
  /** The database's name, `<prefix>_<random>`. */
  name: string;
  /** Its connection URL (child processes connect with it). */
  url: string;
  /** Drops it, closing whatever is still connected. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** Creates an empty PostgreSQL database named `<prefix>_<12 hex>`. */
export async function createPgDatabase(prefix = 'test'): Promise<PgDatabase> {
  const name = checkIdentifier('database', `${prefix}_${randomBytes(6).toString('hex')}`);
  await admin((sql) => sql.unsafe(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      await admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
