/**
 * The web database: PGlite (Postgres in WASM) under DATA_DIR/web when DATABASE_URL is unset,
 * real PostgreSQL when it is set. Both speak the same SQL with `$1` placeholders, so one small
 * interface covers them and every query in web runs on both (the tests run both).
 */
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import { migrate } from './migrations.ts';

export type Row = Record<string, unknown>;

export interface Queryable {
  /** Runs one parameterised statement and returns its rows. */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Db extends Queryable {
  /** Runs `fn` in one transaction: all its statements commit together or none do. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  readonly kind: 'pglite' | 'postgres';
}

export function pgliteDb(pg: PGlite): Db {
  return {
    kind: 'pglite',
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      const r = await pg.query<T>(sql, params as unknown[]);
      return r.rows;
    },
    transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      return pg.transaction((tx) =>
        fn({
          async query<R extends Row>(sql: string, params: readonly unknown[] = []) {
            return (await tx.query<R>(sql, params as unknown[])).rows;
          },
        }),
      );
    },
    async exec(sql: string) {
      await pg.exec(sql);
    },
    close: () => pg.close(),
  };
}

export function postgresDb(sql: postgres.Sql): Db {
  const wrap = (s: postgres.Sql | postgres.TransactionSql): Queryable => ({
    async query<T extends Row>(text: string, params: readonly unknown[] = []) {
      const rows = await s.unsafe(text, params as postgres.ParameterOrJSON<never>[]);
      return rows as unknown as T[];
    },
  });
  const base = wrap(sql);
  return {
    kind: 'postgres',
    query: base.query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      return (await sql.begin((tx) => fn(wrap(tx)))) as T;
    },
    async exec(text: string) {
      await sql.unsafe(text);
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * PGlite creates its files world-writable (0666) and folders 0755 whatever the umask: make the
 * database folder 0700 and everything in it 0600 / 0700 (files it makes later stay behind the
 * 0700 folder). Errors (a file removed meanwhile) are ignored.
 */
export function restrictPermissions(dir: string): void {
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      try {
        if (e.isDirectory()) {
          chmodSync(p, 0o700);
          walk(p);
        } else if (e.isFile()) {
          chmodSync(p, 0o600);
        }
      } catch {
        // gone meanwhile
      }
    }
  };
  try {
    chmodSync(dir, 0o700);
    walk(dir);
  } catch {
    // the folder itself is gone: nothing to protect
  }
}

export interface OpenDbOptions {
  databaseUrl?: string | undefined;
  /** Where PGlite keeps its files when there is no databaseUrl; `memory://` for an in-memory db. */
  dataDir?: string;
}

/** Opens the database and brings its schema up to date. */
export async function openDb(o: OpenDbOptions): Promise<Db> {
  let db: Db;
  if (o.databaseUrl) {
    db = postgresDb(postgres(o.databaseUrl, { max: 10, onnotice: () => {} }));
  } else {
    const dir = o.dataDir ?? 'memory://';
    let path = dir;
    if (!dir.startsWith('memory://')) {
      path = join(dir, 'web');
      mkdirSync(path, { recursive: true, mode: 0o700 });
      restrictPermissions(path);
    }
    db = pgliteDb(await PGlite.create(path));
  }
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  if (db.kind === 'pglite' && o.dataDir && !o.dataDir.startsWith('memory://')) {
    restrictPermissions(join(o.dataDir, 'web'));
  }
  return db;
}
