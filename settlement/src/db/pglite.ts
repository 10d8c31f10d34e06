import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Db, Queryable } from './driver.ts';

const INT8 = 20;

export async function openPglite(dataDir?: string): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    parsers: { [INT8]: (x: string) => Number(x) },
  });
  const query = async <T>(q: Queryable | PGlite, sql: string, params?: readonly unknown[]) =>
    (await (q as PGlite).query<T>(sql, params as unknown[])).rows;
  return {
    kind: 'pglite',
    query: (sql, params) => query(pg, sql, params),
    exec: async (sql) => void (await pg.exec(sql)),
    // PGlite queues every query behind a running transaction, so this is already serialised.
    transaction: (fn) =>
      pg.transaction((tx) =>
        fn({
          query: (sql, params) => query(tx as never, sql, params),
          exec: async (sql) => void (await tx.exec(sql)),
        }),
      ),
    close: () => pg.close(),
  };
}
