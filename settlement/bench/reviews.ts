/**
 * Reviews benchmark (not a test): prints numbers, asserts nothing.
 *
 *   npx tsx settlement/bench/reviews.ts [--drivers pglite,postgres] [--products 10000]
 *     [--reviews 100000] [--requests 300]
 *
 * Per driver, on a fresh database, over real HTTP on 127.0.0.1: the latency of a catalog page
 * (`GET /products?size=24` and `size=100`, every item carrying its `rating`) and of
 * `GET /products/<sku>/reviews`, first with no reviews, then with `reviews` reviews spread
 * over the products (one verifying order; written by SQL, not through the API, so the limit
 * on writes does not apply). p50 / p95 in ms, one request at a time.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openDb, type Db } from '@patungan/db';
import { migrate } from '../src/db/migrations.ts';
import {
  STORES,
  demoProducts,
  demoStock,
  insertProducts,
  insertStock,
  insertStores,
} from '../src/seed.ts';
import { startSettlement } from '../src/server.ts';
import { createPgDatabase } from '../test/support/db.ts';

const { values } = parseArgs({
  options: {
    drivers: { type: 'string', default: 'pglite,postgres' },
    products: { type: 'string', default: '10000' },
    reviews: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '300' },
  },
});
const PRODUCTS = Number(values.products);
const REVIEWS = Number(values.reviews);
const REQUESTS = Number(values.requests);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN) * 10) / 10;
}

async function timed(urls: (i: number) => string): Promise<string> {
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    // retried once: a kept-alive socket may have been closed while the reviews were inserted
    const res = await fetch(urls(i)).catch(() => fetch(urls(i)));
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${urls(i)}: ${res.status}`);
    times.push(performance.now() - t0);
  }
  return `p50 ${pct(times, 50)} ms, p95 ${pct(times, 95)} ms`;
}

async function addReviews(db: Db, skus: string[]): Promise<void> {
  const now = new Date();
  const store = STORES[0]!.id;
  await db.query(
    `INSERT INTO settlements (id, room_id, cart_version, store_id, organiser, currency, total,
       split, status, hold_expires_at, created_at, updated_at)
     VALUES ('bench-s', 'bench-room', 'v1', $1, 'm0', 'IDR', 0, '{"mode":"equal"}', 'completed',
       $2, $2, $2)`,
    [store, now],
  );
  await db.query(
    `INSERT INTO orders (id, settlement_id, store_id, room_id, status, created_at, updated_at)
     VALUES ('bench-o', 'bench-s', $1, 'bench-room', 'completed', $2, $2)`,
    [store, now],
  );
  const perSku = Math.ceil(REVIEWS / skus.length);
  await db.query(
    `INSERT INTO reviews (sku, member_id, member_name, rating, body, order_id, store_id, room_id,
       created_at, updated_at)
     SELECT s.sku, 'm' || g, 'Member ' || g, 1 + (g + length(s.sku)) % 5, 'Review text ' || g,
       'bench-o', $2, 'bench-room', $3, $3
     FROM unnest($1::text[]) AS s(sku), generate_series(1, $4::int) AS g`,
    [skus, store, now, perSku],
  );
  await db.query('ANALYZE');
}

async function run(driver: 'pglite' | 'postgres'): Promise<void> {
  const pg = driver === 'postgres' ? await createPgDatabase() : null;
  const db = await openDb(pg ? { databaseUrl: pg.url } : {});
  try {
    await migrate(db);
    const products = demoProducts(PRODUCTS);
    await insertStores(db, STORES);
    await insertProducts(db, products);
    await insertStock(db, demoStock(STORES, products), new Date());
    await db.query('ANALYZE');
    const skus = products.map((p) => p.sku);
    const svc = await startSettlement({
      port: 0,
      db,
      secret: 'bench-secret-0123456789-0123456789',
      log: pino({ level: 'silent' }),
      worker: false,
      seed: false,
      roomServerUrl: null,
      stripe: null,
      midtrans: null,
      env: {},
    });
    try {
      const pages = Math.floor(PRODUCTS / 100);
      const measure = async (label: string) => {
        console.log(`${driver} ${label}:`);
        console.log(
          `  GET /products?size=24            ${await timed((i) => `${svc.url}/products?size=24&page=${1 + (i % pages)}`)}`,
        );
        console.log(
          `  GET /products?size=100           ${await timed((i) => `${svc.url}/products?size=100&page=${1 + (i % pages)}`)}`,
        );
        console.log(
          `  GET /products/<sku>/reviews      ${await timed((i) => `${svc.url}/products/${skus[(i * 37) % skus.length]}/reviews`)}`,
        );
      };
      await measure(`${PRODUCTS} products, no reviews`);
      const t0 = performance.now();
      await addReviews(db, skus);
      console.log(`  (inserted ~${REVIEWS} reviews in ${Math.round(performance.now() - t0)} ms)`);
      await measure(`${PRODUCTS} products, ~${REVIEWS} reviews`);
    } finally {
      await svc.close();
    }
  } finally {
    await db.close();
    await pg?.drop();
  }
}

for (const d of (values.drivers ?? '').split(',').filter(Boolean)) {
  await run(d as 'pglite' | 'postgres');
}
