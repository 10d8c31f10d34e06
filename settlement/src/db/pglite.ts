import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Db, Queryable } from './driver.ts';

const INT8 = 20;

/**
 * Only the service's user may read its database: PGlite creates files 0666 and directories
 * 0777 (less the umask). The data directory is made 0700 before PGlite writes anything in
 * it, so nothing inside is ever reachable by another user; every file is then set to 0600
 * and every directory to 0700 once PGlite has started and again when it closes (files it
 * created meanwhile), which also tightens a directory left open by an older version.
 */
function makePrivate(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) makePrivate(p);
    else if (e.isFile()) chmod(p, 0o600);
  }
  chmod(dir, 0o700);
}

/** chmod, except where the file system cannot (a read-only or foreign-owned mount). */
function chmod(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EROFS') throw err;
  }
}

export async function openPglite(dataDir?: string): Promise<Db> {
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmod(dataDir, 0o700);
  }
  const pg = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    parsers: { [INT8]: (x: string) => Number(x) },
  });
  if (dataDir) makePrivate(dataDir);
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
    close: async () => {
      await pg.close();
      if (dataDir) makePrivate(dataDir);
    },
  };
}
