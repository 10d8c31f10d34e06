/**
 * The two drivers every db test runs on: a PGlite directory of its own (a copy of one made
 * empty database: starting PGlite on an existing directory takes a fraction of a second,
 * initdb takes seconds), and a fresh PostgreSQL database on the local server (created for
 * the test, dropped after).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db, type DbOptions } from '../src/index.ts';
import { createPgDatabase } from '../src/testing.ts';

let template: Promise<string> | undefined;
/** An empty PGlite data directory, made once per test file; removed on exit. */
function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'patungan-db-template-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    await (await openDb({ dataDir: dir })).close();
    return dir;
  })();
  return template;
}

export interface TestDb {
  db: Db;
  /** Opens one more connection (pool) to the same database; closed by close(). */
  another(o?: Partial<DbOptions>): Promise<Db>;
  close(): Promise<void>;
}

export const DRIVERS: [Db['kind'], (o?: Partial<DbOptions>) => Promise<TestDb>][] = [
  [
    'pglite',
    async (o = {}) => {
      const dir = mkdtempSync(join(tmpdir(), 'patungan-db-test-'));
      cpSync(await pgliteTemplate(), dir, { recursive: true });
      const db = await openDb({ ...o, dataDir: dir });
      return {
        db,
        another: () => Promise.reject(new Error('PGlite is one connection')),
        async close() {
          await db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    'postgres',
    async (o = {}) => {
      const pg = await createPgDatabase('db_test');
      const open: Db[] = [];
      const another = async (more: Partial<DbOptions> = {}) => {
        const db = await openDb({ ...o, ...more, databaseUrl: pg.url });
        open.push(db);
        return db;
      };
      const db = await another();
      return {
        db,
        another,
        async close() {
          await Promise.all(open.map((d) => d.close()));
          await pg.drop();
        },
      };
    },
  ],
];
