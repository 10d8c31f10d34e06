/**
 * The process-wide server state: one database, opened and migrated on first use (not at
 * import, because SvelteKit imports server modules while building).
 */
import { config } from './config.ts';
import type { Db } from '@patungan/db';
import { openDb } from './db.ts';
import { log } from './log.ts';
import { startNotifications, stopNotifications } from './notify/index.ts';
import { seedDemoStaff } from './staff-seed.ts';

let dbPromise: Promise<Db> | undefined;
let background = new AbortController();

export function getDb(): Promise<Db> {
  dbPromise ??= openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }).then(
    (db) => {
      log.info({ kind: db.kind }, 'web database ready');
      startNotifications(db);
      if (config.demoStaff) {
        // In the background: settlement may still be starting; the seed retries until it answers.
        void seedDemoStaff(db, config, undefined, background.signal).catch((err: unknown) => {
          if (!background.signal.aborted) log.error({ err }, 'demo staff seed failed');
        });
      }
      return db;
    },
    (err: unknown) => {
      dbPromise = undefined;
      throw err;
    },
  );
  return dbPromise;
}

/** Closes the database (PGlite flushes to disk); the next getDb() opens it again. */
export async function closeDb(): Promise<void> {
  const p = dbPromise;
  dbPromise = undefined;
  background.abort();
  background = new AbortController();
  await stopNotifications();
  if (p) await (await p.catch(() => null))?.close();
}
