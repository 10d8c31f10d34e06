/** The PostgreSQL driver (scaled mode): a postgres.js pool behind the `Db` interface. */
import postgres from 'postgres';
import type { Db, Queryable } from './driver.ts';

export interface PostgresOptions {
  /** Pool size. */
  max: number;
  /** See DbOptions.schema (already checked to be an identifier). */
  schema?: string | undefined;
  /** Seconds to wait for a connection (postgres.js default: 30). */
  connectTimeout?: number | undefined;
}

export async function openPostgres(url: string, o: PostgresOptions): Promise<Db> {
  if (o.schema) {
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`CREATE SCHEMA IF NOT EXISTS ${o.schema}`);
    } finally {
      await admin.end();
    }
  }
  const sql = postgres(url, {
    max: o.max,
    ...(o.connectTimeout !== undefined ? { connect_timeout: o.connectTimeout } : {}),
    onnotice: () => {},
    // every connection of the pool starts with the schema first (and only) on its path
    ...(o.schema ? { connection: { search_path: o.schema } } : {}),
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: number) => String(x),
        parse: (x: string) => Number(x),
      },
    },
  });
  // Named (prepared) statements: postgres.js keeps one per connection and statement text, so
  // a statement seen before costs one round trip (Bind/Execute) instead of two (an unnamed
  // one is first described, then bound) and no parsing or planning on the server. The
  // statement texts are constants of the code (a few variants at most), so the cache stays
  // small.
  const wrap = (s: postgres.Sql | postgres.TransactionSql): Queryable => ({
    query: async <T>(q: string, params?: readonly unknown[]) =>
      (await s.unsafe(q, (params ?? []) as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      })) as unknown as T[],
    // no parameters: postgres.js sends it as a simple query, which may hold several statements
    exec: async (q: string) => void (await s.unsafe(q).simple()),
  });
  try {
    await sql`select 1`;
  } catch (err) {
    await sql.end({ timeout: 1 });
    throw err;
  }
  return {
    kind: 'postgres',
    ...wrap(sql),
    // Named on BEGIN itself (no extra round trip): a server or database whose
    // default_transaction_isolation is stricter does not change what the callers rely on.
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      sql.begin('isolation level read committed', (tx) => fn(wrap(tx))) as Promise<T>,
    close: () => sql.end({ timeout: 5 }),
  };
}
