/**
 * Settlement benchmark (not a test): prints numbers, asserts nothing.
 *
 *   npm run bench -w settlement -- [--drivers pglite,postgres] [--settlements 400]
 *     [--concurrency 16] [--holds 10000] [--searches 500] [--products 10000]
 *
 * Per driver, on a fresh database (PGlite in memory; PostgreSQL `settle_bench_<random>` on
 * TEST_POSTGRES_URL's server, dropped afterwards), in this process over real HTTP on 127.0.0.1:
 * 1. settlements/s with holds: POST /settlements (3 members, 2 lines, local provider) with
 *    `concurrency` requests in flight; latency p50/p95/p99;
 * 2. time to expire `holds` holds: that many settlements created through the same code path,
 *    their holds moved into the past, then the worker sweep timed until all are expired;
 * 3. product search over `products` products: `searches` GET /products requests (words,
 *    category, price range, pages), one at a time; p50/p95/p99.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { signToken } from '@patungan/model';
import { openDb, type Db } from '@patungan/db';
import { migrate } from '../src/db/migrations.ts';
import {
  demoProducts,
  demoStock,
  insertProducts,
  insertStock,
  insertStores,
  STORES,
} from '../src/seed.ts';
import { startSettlement } from '../src/server.ts';
import { expireDue } from '../src/worker.ts';
import { createPgDatabase } from '../test/support/db.ts';

const { values } = parseArgs({
  options: {
    drivers: { type: 'string', default: 'pglite,postgres' },
    settlements: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '16' },
    holds: { type: 'string', default: '10000' },
    searches: { type: 'string', default: '500' },
    products: { type: 'string', default: '10000' },
  },
});
const N = Number(values.settlements);
const C = Number(values.concurrency);
const HOLDS = Number(values.holds);
const SEARCHES = Number(values.searches);
const PRODUCTS = Number(values.products);
const SECRET = 'bench-secret-0123456789-0123456789';
const log = pino({ level: 'silent' });

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const ms = (x: number) => Math.round(x * 10) / 10;

async function seed(db: Db): Promise<string[]> {
  await migrate(db);
  const products = demoProducts(PRODUCTS);
  await insertStores(db, STORES);
  await insertProducts(db, products);
  // plenty of stock so that every hold succeeds: the benchmark measures the happy path
  await insertStock(
    db,
    demoStock(STORES, products).map((r) => ({ ...r, onHand: 1_000_000 })),
    new Date(),
  );
  await db.query('ANALYZE');
  return products.map((p) => p.sku);
}

/**
 * fetch, retried once when a kept-alive socket was closed by the server meanwhile (safe for
 * POST /settlements: it carries an idempotency key).
 */
async function get(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

async function pool<T>(n: number, c: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await fn(i);
    }),
  );
  return out;
}

async function run(driver: 'pglite' | 'postgres') {
  const pg = driver === 'postgres' ? await createPgDatabase() : null;
  const db = await openDb(pg ? { databaseUrl: pg.url, poolSize: 20 } : {});
  try {
    const skus = await seed(db);
    const svc = await startSettlement({
      port: 0,
      db,
      secret: SECRET,
      log,
      worker: false,
      seed: false,
      roomServerUrl: null,
      stripe: null,
      midtrans: null,
      holdTtlSeconds: 900,
      env: {},
    });
    const token = await signToken(
      { sub: 'bench', name: 'bench', role: 'service', room: '*' },
      SECRET,
    );
    const snap = (i: number, tag: string) => ({
      roomId: `bench-${tag}-${i}`,
      cartVersion: 'v1',
      currency: 'IDR',
      storeId: STORES[i % STORES.length]!.id,
      organiser: 'a',
      split: { mode: 'equal' },
      members: ['a', 'b', 'c'].map((id) => ({ id, name: id, method: 'local' })),
      lines: [
        { id: 'l1', sku: skus[(i * 7) % skus.length]!, qty: 1, addedBy: 'a' },
        { id: 'l2', sku: skus[(i * 13 + 1) % skus.length]!, qty: 2, addedBy: 'b' },
      ],
    });
    const post = async (i: number, tag: string) => {
      const t0 = performance.now();
      const r = await get(`${svc.url}/settlements`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': `${tag}-${i}`,
        },
        body: JSON.stringify(snap(i, tag)),
      });
      await r.arrayBuffer();
      if (r.status !== 201) throw new Error(`POST /settlements → ${r.status}`);
      return performance.now() - t0;
    };

    // 1. settlements per second with holds
    await pool(20, 4, (i) => post(i, 'warm'));
    const t1 = performance.now();
    const lat = await pool(N, C, (i) => post(i, 'tput'));
    const secs = (performance.now() - t1) / 1000;
    const created = {
      settlements: N,
      concurrency: C,
      perSecond: Math.round(N / secs),
      p50: ms(pct(lat, 50)),
      p95: ms(pct(lat, 95)),
      p99: ms(pct(lat, 99)),
    };
    console.log(JSON.stringify({ driver, bench: 'settlements', ...created }));

    // 2. expire HOLDS holds
    const already = N + 20;
    const tc = performance.now();
    await pool(Math.max(0, HOLDS - already), C, (i) => post(i, 'hold'));
    const createSecs = (performance.now() - tc) / 1000;
    await db.query(
      `UPDATE settlements SET hold_expires_at = now() - interval '1 second' WHERE status = 'awaiting_payment'`,
    );
    await db.query(
      `UPDATE holds SET expires_at = now() - interval '1 second' WHERE status = 'held'`,
    );
    const [due] = await db.query<{ n: number }>(
      `SELECT count(*) AS n FROM holds WHERE status = 'held'`,
    );
    const te = performance.now();
    let expired = 0;
    for (let n = await expireDue(svc.ctx, 500); n > 0; n = await expireDue(svc.ctx, 500))
      expired += n;
    const expireSecs = (performance.now() - te) / 1000;
    const [left] = await db.query<{ n: number }>(
      `SELECT count(*) AS n FROM holds WHERE status = 'held'`,
    );
    console.log(
      JSON.stringify({
        driver,
        bench: 'expiry',
        settlements: expired,
        holds: due?.n,
        heldLeft: left?.n,
        seconds: Math.round(expireSecs * 100) / 100,
        holdsPerSecond: Math.round((due?.n ?? 0) / expireSecs),
        createSeconds: Math.round(createSecs),
      }),
    );

    // 3. product search
    const words = [
      'teh',
      'kopi',
      'sabun',
      'beras',
      'keripik pedas',
      'botol',
      'seri 12',
      'bayi',
      'lampu',
      'mie',
    ];
    const cats = ['', 'minuman', 'sembako', 'elektronik'];
    const searchLat: number[] = [];
    for (let i = 0; i < SEARCHES; i++) {
      const q = new URLSearchParams({
        q: words[i % words.length]!,
        size: '24',
        page: String(1 + (i % 3)),
      });
      const cat = cats[i % cats.length]!;
      if (cat) q.set('category', cat);
      if (i % 5 === 0) q.set('maxPrice', '50000');
      const t0 = performance.now();
      const r = await get(`${svc.url}/products?${q}`);
      await r.arrayBuffer();
      searchLat.push(performance.now() - t0);
    }
    console.log(
      JSON.stringify({
        driver,
        bench: 'search',
        products: PRODUCTS,
        searches: SEARCHES,
        p50: ms(pct(searchLat, 50)),
        p95: ms(pct(searchLat, 95)),
        p99: ms(pct(searchLat, 99)),
      }),
    );
    await svc.close();
  } finally {
    await db.close();
    await pg?.drop();
  }
}

for (const d of values.drivers.split(',')) await run(d as 'pglite' | 'postgres');
