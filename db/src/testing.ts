/**
 * For tests only (`@patungan/db/testing`): a database of its own for each test on either
 * driver, dropped afterwards, and the file-mode checks of PGlite's data directory. The
 * PostgreSQL admin connection is TEST_POSTGRES_URL (or PG_TEST_URL), default
 * postgres://postgres@127.0.0.1:5432/postgres.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { checkIdentifier, openDb, type Db, type DbOptions } from './driver.ts';

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

export interface TestDb {
  db: Db;
  /** Opens another pool on the same PostgreSQL database (closed by close()); PGlite: refused. */
  another(o?: Partial<DbOptions>): Promise<Db>;
  /** Closes everything and removes the database. */
  close(): Promise<void>;
}

let template: Promise<string> | undefined;
/** An empty PGlite data directory made once per test process (removed on exit): starting
 * PGlite on an existing directory takes a fraction of a second, initdb takes seconds. */
function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'patungan-db-template-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    await (await openDb({ dataDir: dir })).close();
    return dir;
  })();
  return template;
}

/**
 * An empty database of its own: PGlite in a copy of an empty data directory, or a fresh
 * PostgreSQL database on the local server. `o` adds options (a schema, a pool size).
 */
export async function openTestDb(kind: Db['kind'], o: Partial<DbOptions> = {}): Promise<TestDb> {
  if (kind === 'pglite') {
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
  }
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
}

/** Every path under `dir` whose mode lets anyone but the owner in (a directory not 0700, a
 * file with any group or other bit), with its mode. */
export function looseModes(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    const mode = st.mode & 0o777;
    if (st.isDirectory()) {
      if (mode !== 0o700) out.push(`${p} ${mode.toString(8)}`);
      for (const e of readdirSync(p)) walk(join(p, e));
    } else if (mode & 0o077) out.push(`${p} ${mode.toString(8)}`);
  };
  walk(dir);
  return out;
}

/** Sets every directory under `dir` (and itself) to `dirMode`, every file to `fileMode`. */
export function chmodTree(dir: string, dirMode: number, fileMode: number): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chmodTree(p, dirMode, fileMode);
    else chmodSync(p, fileMode);
  }
  chmodSync(dir, dirMode);
}
