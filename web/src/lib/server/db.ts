/**
 * The web database: PGlite (Postgres in WASM) under DATA_DIR/web when DATABASE_URL is unset,
 * real PostgreSQL when it is set, through the layer web shares with settlement (@patungan/db:
 * the same interface, drivers and migration runner). Every query in web runs on both (the tests
 * run both).
 */
import { join } from 'node:path';
import { makePrivate, openDb as openDriver, type Db } from '@patungan/db';
import { migrate } from './migrations.ts';

export interface OpenDbOptions {
  databaseUrl?: string | undefined;
  /** Where PGlite keeps its files when there is no databaseUrl; `memory://` for an in-memory db. */
  dataDir?: string;
}

/** Opens the database and brings its schema up to date. */
export async function openDb(o: OpenDbOptions): Promise<Db> {
  const dir =
    o.databaseUrl || !o.dataDir || o.dataDir.startsWith('memory://')
      ? undefined
      : join(o.dataDir, 'web');
  const db = await openDriver(o.databaseUrl ? { databaseUrl: o.databaseUrl } : { dataDir: dir });
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  // the files the migrations wrote: private now rather than when PGlite closes
  if (dir) makePrivate(dir);
  return db;
}
