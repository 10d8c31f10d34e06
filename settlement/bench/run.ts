/**
 * Settlement benchmark (not a test): prints numbers, asserts nothing.
 *
 *   npm run bench -w settlement -- [--drivers pglite,postgres] [--settlements 400]
 *     [--concurrency 16] [--holds 10000] [--searches 500] [--products 10000]
 *     [--profile 200] [--deadlines 300] [--cpuprofile <path prefix>]
 *
 * Per driver, on a fresh database (PGlite in memory; PostgreSQL `settle_bench_<random>` on
 * TEST_POSTGRES_URL's server, dropped afterwards), the service in this process, the load
 * generator in a child process (load.ts: node:http, keep-alive) over real HTTP on 127.0.0.1,
 * so that CPU is counted apart: the service's (this process: HTTP server, app, SQL driver —
 * and PGlite itself, which runs in this thread), the generator's, PostgreSQL's (/proc):
 * 0. profile (counts do not depend on the machine's load): `profile` settlements one at a time,
 *    counting per settlement the SQL statements and transactions the service issues, the
 *    writes to PostgreSQL's socket (one per round trip: postgres.js sends a batch of protocol
 *    messages and waits for the answer), the time spent waiting for the database, the CPU of
 *    the service, the generator and the database's server processes, and the cost of the
 *    fixed per-request pieces (token check, validation, request hash, JSON; an HTTP round trip
 *    through every middleware to a 404, the service's CPU and the generator's);
 * 1. settlements/s with holds: POST /settlements (3 members, 2 lines, local provider) with
 *    `concurrency` requests in flight; latency p50/p95/p99; CPU per settlement of the service,
 *    the generator and PostgreSQL during the phase;
 * 2. time to expire `holds` holds: that many settlements created through the same code path,
 *    their holds moved into the past, then the worker's expiry (`expireAll`: batches, parallel
 *    sweeps on PostgreSQL) timed until all are expired;
 * 2b. expiry lateness: `deadlines` settlements whose deadlines are staggered over the next
 *    ~10 s, with the worker loop running as the service runs it (Loop + workerTick, default
 *    poll): release time (the sweep's `updated_at`) − deadline, p50/p99/max;
 * 3. product search over `products` products: `searches` GET /products requests (words,
 *    category, price range, pages), one at a time; p50/p95/p99.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Socket } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { hashJson, signToken, verifyToken } from '@patungan/model';
import { openDb, type Db, type Queryable } from '@patungan/db';
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
import { expireAll, expirySweeps, workerTick } from '../src/worker.ts';
import { Loop } from '../src/loop.ts';
import { parse } from '../src/validate.ts';
import { snapshotSchema } from '../src/schemas.ts';
import { createPgDatabase } from '../test/support/db.ts';
import { snapshot, type Done, type Get, type Init, type Post } from './load.ts';

const { values } = parseArgs({
  options: {
    drivers: { type: 'string', default: 'pglite,postgres' },
    settlements: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '16' },
    holds: { type: 'string', default: '10000' },
    searches: { type: 'string', default: '500' },
    products: { type: 'string', default: '10000' },
    profile: { type: 'string', default: '200' },
    deadlines: { type: 'string', default: '300' },
    // a V8 CPU profile of the throughput phase only (open in Chrome DevTools)
    cpuprofile: { type: 'string' },
  },
});
const PROFILE = Number(values.profile);
const DEADLINES = Number(values.deadlines);
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
const r2 = (x: number) => Math.round(x * 100) / 100;

/** What the service asked of the database: statements, transactions, time spent waiting. */
const counts = { statements: 0, transactions: 0, waitMs: 0, pgWrites: 0 };
/** When set: time waited per statement, by its first words (the expiry's SQL breakdown). */
let bySql: Map<string, number> | null = null;
const sqlName = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 60);

/** The database with every statement counted and its wait timed (the service gets this one). */
function counted(db: Db): Db {
  const wrap = (q: Queryable): Queryable => ({
    query: async (sql, params) => {
      counts.statements++;
      const t0 = performance.now();
      try {
        return await q.query(sql, params);
      } finally {
        const dt = performance.now() - t0;
        counts.waitMs += dt;
        if (bySql) bySql.set(sqlName(sql), (bySql.get(sqlName(sql)) ?? 0) + dt);
      }
    },
    exec: (sql) => q.exec(sql),
  });
  return {
    kind: db.kind,
    ...wrap(db),
    transaction: (fn) => {
      counts.transactions++;
      return db.transaction((tx) => fn(wrap(tx)));
    },
    close: () => db.close(),
  };
}

// Round trips to PostgreSQL: postgres.js writes a batch of protocol messages and waits for the
// server's answer, so each write to a socket connected to the server's port is one round trip.
const PG_PORT = Number(
  new URL(process.env.TEST_POSTGRES_URL ?? 'postgres://x@127.0.0.1:5432/x').port || 5432,
);
const socketWrite = Socket.prototype.write;
Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
  if (this.remotePort === PG_PORT) counts.pgWrites++;
  return (socketWrite as (...a: unknown[]) => boolean).apply(this, args);
} as typeof Socket.prototype.write;

/** CPU seconds (user + system) of the database's server processes (PostgreSQL only). */
async function pgCpu(db: Db): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (db.kind !== 'postgres') return out;
  const rows = await db.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  for (const { pid } of rows) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // fields 14 and 15 of stat (utime, stime) in clock ticks (100 per second)
      out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
function cpuDelta(a: Map<number, number>, b: Map<number, number>): number {
  let s = 0;
  for (const [pid, t] of b) s += t - (a.get(pid) ?? 0);
  return s;
}

/** Mean microseconds of one call of `fn` over `n` calls (after a warm-up). */
async function micro(n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const d = process.cpuUsage(t0);
  return Math.round(((d.user + d.system) / n) * 10) / 10;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

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
 * fetch, retried (up to 3 more times) when a kept-alive socket was closed or reset meanwhile
 * — on a loaded machine a request may wait longer than the server keeps an idle socket (safe
 * for POST /settlements: it carries an idempotency key).
 */
async function get(url: string, init?: RequestInit): Promise<Response> {
  for (let i = 0; ; i++) {
    try {
      return await fetch(url, init);
    } catch (err) {
      if (i >= 3) throw err;
    }
  }
}

/** The load generator (load.ts) in a child process. */
class Generator {
  private next = 1;
  private readonly waiting = new Map<number, (d: Done) => void>();
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (d: Done) => {
      this.waiting.get(d.id)?.(d);
      this.waiting.delete(d.id);
    });
  }
  static async start(init: Init): Promise<Generator> {
    const g = new Generator(fork(new URL('./load.ts', import.meta.url).pathname));
    await g.call(0, init);
    return g;
  }
  private call(id: number, m: Init | Post | Get): Promise<Done> {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (d) => (d.error ? reject(new Error(d.error)) : resolve(d)));
      this.child.send(m);
    });
  }
  /** Settlements `tag-0` … `tag-(n-1)`, `concurrency` in flight. */
  post(tag: string, n: number, concurrency: number): Promise<Done> {
    const id = this.next++;
    return this.call(id, { type: 'post', id, tag, from: 0, n, concurrency });
  }
  /** GET `path` `n` times, `concurrency` in flight. */
  get(path: string, n: number, concurrency: number): Promise<Done> {
    const id = this.next++;
    return this.call(id, { type: 'get', id, path, n, concurrency });
  }
  stop() {
    this.child.disconnect();
  }
}

async function run(driver: 'pglite' | 'postgres') {
  const pg = driver === 'postgres' ? await createPgDatabase() : null;
  const raw = await openDb(pg ? { databaseUrl: pg.url, poolSize: 20 } : {});
  const db = counted(raw);
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
    const gen = await Generator.start({
      type: 'init',
      url: svc.url,
      token,
      skus,
      stores: STORES.map((st) => st.id),
      concurrency: C,
    });
    const cpuMs = () => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1000;
    };

    console.log(
      JSON.stringify({
        driver,
        bench: 'conditions',
        at: new Date().toISOString(),
        loadavg: load(),
      }),
    );
    // 0. profile, one settlement at a time
    await gen.post('warm', 20, 4);
    if (PROFILE > 0) {
      const c0 = { ...counts };
      const cpu0 = cpuMs();
      const pg0 = await pgCpu(raw);
      bySql = new Map();
      const t0 = performance.now();
      const prof = await gen.post('prof', PROFILE, 1);
      const wall = performance.now() - t0;
      // time waited per statement (one at a time: the statement's own time), per settlement
      const sqlMsPerSettlement = Object.fromEntries(
        [...bySql].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, r2(v / PROFILE)]),
      );
      bySql = null;
      const cpu = cpuMs() - cpu0;
      const pgSecs = cpuDelta(pg0, await pgCpu(raw));
      const per = (x: number) => r2(x / PROFILE);
      const body = snapshot(skus, [STORES[0]!.id], 1, 'x');
      const text = JSON.stringify(body);
      const parsed = parse(snapshotSchema, JSON.parse(text));
      // an HTTP round trip through every middleware to a 404: the service's CPU, the generator's
      const http0 = cpuMs();
      const http = await gen.get('/nothing', 500, 1);
      const httpCpu = cpuMs() - http0;
      console.log(
        JSON.stringify({
          driver,
          bench: 'profile',
          settlements: PROFILE,
          statementsPerSettlement: per(counts.statements - c0.statements),
          transactionsPerSettlement: per(counts.transactions - c0.transactions),
          pgRoundTripsPerSettlement: per(counts.pgWrites - c0.pgWrites),
          dbWaitMsPerSettlement: per(counts.waitMs - c0.waitMs),
          wallMsPerSettlement: per(wall),
          serviceCpuMsPerSettlement: per(cpu),
          generatorCpuMsPerSettlement: per(prof.cpuMs),
          pgServerCpuMsPerSettlement: driver === 'postgres' ? per(pgSecs * 1000) : null,
          sqlMsPerSettlement,
          perRequestUs: {
            verifyToken: await micro(2000, () => verifyToken(token, SECRET)),
            validate: await micro(2000, () => parse(snapshotSchema, body)),
            hashJson: await micro(2000, () => hashJson(parsed)),
            jsonParseStringify: await micro(2000, () => JSON.stringify(JSON.parse(text))),
            http404ServiceCpu: Math.round((httpCpu * 1000) / 500),
            http404GeneratorCpu: Math.round((http.cpuMs * 1000) / 500),
          },
        }),
      );
    }

    // 1. settlements per second with holds
    const inspector = values.cpuprofile ? new Session() : null;
    if (inspector) {
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.start');
    }
    const c1 = { ...counts };
    const cpu1 = cpuMs();
    const pg1 = await pgCpu(raw);
    const t1 = performance.now();
    const tput = await gen.post('tput', N, C);
    const secs = (performance.now() - t1) / 1000;
    const serviceCpu = cpuMs() - cpu1;
    const pgSecs1 = cpuDelta(pg1, await pgCpu(raw));
    if (inspector) {
      const { profile } = await inspector.post('Profiler.stop');
      writeFileSync(`${values.cpuprofile}.${driver}.cpuprofile`, JSON.stringify(profile));
      inspector.disconnect();
    }
    const lat = tput.latencies;
    const created = {
      settlements: N,
      concurrency: C,
      perSecond: Math.round(N / secs),
      p50: ms(pct(lat, 50)),
      p95: ms(pct(lat, 95)),
      p99: ms(pct(lat, 99)),
      statementsPerSettlement: r2((counts.statements - c1.statements) / N),
      transactionsPerSettlement: r2((counts.transactions - c1.transactions) / N),
      pgRoundTripsPerSettlement: r2((counts.pgWrites - c1.pgWrites) / N),
      // CPU per settlement during the phase (ms): the service (with PGlite: the database too),
      // the load generator, PostgreSQL's server processes
      cpuMsPerSettlement: {
        service: r2(serviceCpu / N),
        generator: r2(tput.cpuMs / N),
        postgres: driver === 'postgres' ? r2((pgSecs1 * 1000) / N) : null,
      },
    };
    console.log(JSON.stringify({ driver, bench: 'settlements', ...created, loadavg: load() }));

    // 2a. expiry lateness with the worker loop running (as the service runs it), before the mass
    // expiry below leaves the worker a backlog of voids to make
    if (DEADLINES > 0) {
      await gen.post('late', DEADLINES, C);
      const base = Date.now() + 2000;
      // staggered over ~10 s, in an order unrelated to creation
      const LATE = `SELECT settlement_id FROM idempotency_keys WHERE key LIKE 'late-%'`;
      await db.query(
        `WITH d AS (
           SELECT id, $1::timestamptz + (row_number() OVER (ORDER BY md5(id)) - 1)
             * ($2::double precision * interval '1 millisecond') AS at
           FROM settlements WHERE id IN (${LATE}))
         UPDATE settlements s SET hold_expires_at = d.at FROM d WHERE s.id = d.id`,
        [new Date(base), 10_000 / DEADLINES],
      );
      await db.query(
        `UPDATE holds h SET expires_at = s.hold_expires_at FROM settlements s
         WHERE h.settlement_id = s.id AND h.status = 'held'`,
      );
      const worker = new Loop('worker', () => workerTick(svc.ctx), 1000, log);
      worker.start();
      const until = Date.now() + 60_000;
      for (;;) {
        const [open] = await raw.query<{ n: number }>(
          `SELECT count(*) AS n FROM settlements WHERE status = 'awaiting_payment' AND id IN (${LATE})`,
        );
        if (!open?.n || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      await worker.stop();
      const late = (
        await raw.query<{ ms: number }>(
          `SELECT extract(epoch FROM updated_at - hold_expires_at) * 1000 AS ms
           FROM settlements WHERE status = 'expired' AND id IN (${LATE})`,
        )
      ).map((r) => Number(r.ms));
      console.log(
        JSON.stringify({
          driver,
          bench: 'expiry-lateness',
          settlements: DEADLINES,
          released: late.length,
          p50: ms(pct(late, 50)),
          p99: ms(pct(late, 99)),
          max: ms(Math.max(...late)),
          loadavg: load(),
        }),
      );
    }

    // 2. expire HOLDS holds
    const already = N + 20 + PROFILE; // still awaiting payment (the lateness ones expired)
    const tc = performance.now();
    await gen.post('hold', Math.max(0, HOLDS - already), C);
    const createSecs = (performance.now() - tc) / 1000;
    await db.query(
      `UPDATE settlements SET hold_expires_at = now() - interval '1 second' WHERE status = 'awaiting_payment'`,
    );
    await db.query(
      `UPDATE holds SET expires_at = now() - interval '1 second' WHERE status = 'held'`,
    );
    // statistics for the tables the sweep reads, as autovacuum would have gathered by now on a
    // running database (the seed's ANALYZE saw them empty; PGlite has no autovacuum)
    await db.query('ANALYZE settlements, payments, payment_attempts, holds, stock_ledger, outbox');
    const [due] = await db.query<{ n: number }>(
      `SELECT count(*) AS n FROM holds WHERE status = 'held'`,
    );
    bySql = new Map();
    const expPg0 = await pgCpu(raw);
    const expCpu0 = process.cpuUsage();
    const te = performance.now();
    // what the worker runs (worker.ts): batches, in parallel sweeps on PostgreSQL
    const expired = await expireAll(svc.ctx);
    const expireSecs = (performance.now() - te) / 1000;
    const expCpu = process.cpuUsage(expCpu0);
    const expPgSecs = cpuDelta(expPg0, await pgCpu(raw));
    const sqlMs = Object.fromEntries(
      [...bySql].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v)]),
    );
    bySql = null;
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
        sweeps: expirySweeps(svc.ctx),
        seconds: Math.round(expireSecs * 100) / 100,
        holdsPerSecond: Math.round((due?.n ?? 0) / expireSecs),
        // CPU during the sweep (the outbox publisher runs alongside): this process, and
        // PostgreSQL's server processes of this database
        nodeCpuSeconds: r2((expCpu.user + expCpu.system) / 1e6),
        pgServerCpuSeconds: driver === 'postgres' ? r2(expPgSecs) : null,
        createSeconds: Math.round(createSecs),
        loadavg: load(),
        sqlMs,
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
    gen.stop();
    await svc.close();
  } finally {
    await raw.close();
    await pg?.drop();
  }
}

for (const d of values.drivers.split(',')) await run(d as 'pglite' | 'postgres');
