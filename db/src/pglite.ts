/**
 * The PGlite driver (embedded mode): Postgres in WASM, in memory or in a data directory that
 * only the service's user can read (docs/security.md).
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Db, Queryable } from './driver.ts';
import { makePrivate } from './private-dir.ts';

const INT8 = 20;

export interface PgliteOptions {
  /** See DbOptions.schema (already checked to be an identifier). */
  schema?: string | undefined;
}

/** Opens PGlite in `dataDir` (created 0700 when missing); unset or `memory://…`: in memory. */
export async function openPglite(dataDir?: string, o: PgliteOptions = {}): Promise<Db> {
  const dir = dataDir && !dataDir.startsWith('memory://') ? dataDir : undefined;
  if (dir) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    makePrivate(dir);
  }
  const pg = await PGlite.create({
    ...(dir ? { dataDir: dir } : {}),
    parsers: { [INT8]: (x: string) => Number(x) },
  });
  if (dir) makePrivate(dir);
  if (o.schema) {
    // one connection: the session's search_path holds for every later query
    try {
      await pg.exec(`CREATE SCHEMA IF NOT EXISTS ${o.schema}; SET search_path TO ${o.schema}`);
    } catch (err) {
      await pg.close();
      throw err;
    }
  }
  const query = async <T>(q: Queryable | PGlite, sql: string, params?: readonly unknown[]) =>
    (await (q as PGlite).query<T>(sql, params as unknown[])).rows;
  return {
    kind: 'pglite',
    query: (sql, params) => query(pg, sql, params),
    exec: async (sql) => void (await pg.exec(sql)),
    // PGlite queues every query behind a running transaction, so this is already serialised
    // (and READ COMMITTED, Postgres's default, like the PostgreSQL driver's transactions).
    transaction: (fn) =>
      pg.transaction((tx) =>
        fn({
          query: (sql, params) => query(tx as never, sql, params),
          exec: async (sql) => void (await tx.exec(sql)),
        }),
      ),
    close: async () => {
      await pg.close();
      if (dir) makePrivate(dir);
    },
  };
}
