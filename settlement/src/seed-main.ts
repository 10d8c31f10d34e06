/**
 * `npm run seed -w settlement`: migrates and loads the demo catalog, stores and stock into
 * DATABASE_URL (or PGlite under DATA_DIR) unless products already exist.
 * SEED_PRODUCTS sets the catalog size (default 200).
 */
import { join } from 'node:path';
import { dataDir } from '@patungan/model/node';
import { openDb } from '@patungan/db';
import { migrate } from './db/migrations.ts';
import { seedDemo } from './seed.ts';

const db = await openDb(
  process.env.DATABASE_URL
    ? { databaseUrl: process.env.DATABASE_URL }
    : { dataDir: join(dataDir(), 'settlement') },
);
try {
  await migrate(db);
  const loaded = await seedDemo(db, { products: Number(process.env.SEED_PRODUCTS ?? 200) });
  console.log(JSON.stringify({ seeded: loaded, db: db.kind }));
} finally {
  await db.close();
}
