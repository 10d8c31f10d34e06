import postgres from 'postgres';
import type { Db, Queryable } from './driver.ts';

export async function openPostgres(url: string, max: number): Promise<Db> {
  const sql = postgres(url, {
    max,
    onnotice: () => {},
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: number) => String(x),
        parse: (x: string) => Number(x),
      },
    },
  });
  const wrap = (s: postgres.Sql | postgres.TransactionSql): Queryable => ({
    query: async <T>(q: string, params?: readonly unknown[]) =>
      (await s.unsafe(q, (params ?? []) as postgres.ParameterOrJSON<never>[])) as unknown as T[],
    // no parameters: postgres.js sends it as a simple query, which may hold several statements
    exec: async (q: string) => void (await s.unsafe(q).simple()),
  });
  await sql`select 1`;
  return {
    kind: 'postgres',
    ...wrap(sql),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      sql.begin((tx) => fn(wrap(tx))) as Promise<T>,
    close: () => sql.end({ timeout: 5 }),
  };
}
