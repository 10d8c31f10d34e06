/**
 * One test scenario, two databases: every suite runs over PGlite (in memory) and a fresh
 * PostgreSQL database `settle_<random>` that the test creates and drops.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { openDb, type Db } from '@patungan/db';
import { createPgDatabase as createDatabase, type PgDatabase } from '@patungan/db/testing';
import { migrate, MIGRATIONS } from '../../src/db/migrations.ts';
import { demoProducts, demoStock, seedDemo, STORES } from '../../src/seed.ts';

// The package does not export its package.json; find it next to its entry point.
const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
const PGLITE_VERSION = (
  JSON.parse(
    readFileSync(
      join(pgliteEntry.slice(0, pgliteEntry.lastIndexOf('/dist/')), 'package.json'),
      'utf8',
    ),
  ) as { version: string }
).version;

export type Driver = 'pglite' | 'postgres';
export const DRIVERS: readonly Driver[] = ['pglite', 'postgres'];

export interface TestDb {
  driver: Driver;
  /** Set for postgres: the fresh database's URL (child processes connect with it). */
  url?: string;
  db: Db;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

/** Creates an empty PostgreSQL database `settle_<random>`; `drop()` removes it. */
export function createPgDatabase(): Promise<PgDatabase> {
  return createDatabase('settle');
}

/**
 * A migrated, seeded PGlite data directory, built once and shared by every test process
 * (keyed by the schema and the demo data, so a change builds a new one). Starting PGlite on
 * an existing directory takes a fraction of a second; a fresh one runs initdb (seconds).
 */
let template: Promise<string> | undefined;
function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const products = demoProducts();
    const key = createHash('sha256')
      .update(PGLITE_VERSION)
      .update(JSON.stringify(MIGRATIONS))
      .update(JSON.stringify(products))
      .update(JSON.stringify(demoStock(STORES, products)))
      .update(JSON.stringify(STORES))
      .digest('hex')
      .slice(0, 16);
    const dir = join(tmpdir(), `patungan-settlement-template-${key}`);
    if (existsSync(join(dir, 'PG_VERSION'))) return dir;
    const building = mkdtempSync(join(tmpdir(), 'patungan-settlement-build-'));
    const db = await openDb({ dataDir: building });
    await migrate(db);
    await seedDemo(db);
    await db.close();
    try {
      renameSync(building, dir); // atomic: another process may have won the race
    } catch {
      rmSync(building, { recursive: true, force: true });
    }
    return dir;
  })();
  return template;
}

/** A private copy of the template PGlite directory (the caller deletes it). */
export async function pgliteCopy(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'patungan-settlement-db-'));
  cpSync(await pgliteTemplate(), dir, { recursive: true });
  return dir;
}

export async function freshDb(driver: Driver, poolSize?: number): Promise<TestDb> {
  if (driver === 'pglite') {
    const dir = await pgliteCopy();
    const db = await openDb({ dataDir: dir });
    return {
      driver,
      db,
      async drop() {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
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
