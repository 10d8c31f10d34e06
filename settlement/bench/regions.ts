/**
 * Regions benchmark (not a test): prints numbers, asserts nothing.
 *
 *   npm run bench:regions -w settlement -- [--seconds 20] [--concurrency 16] [--fast]
 *
 * Self-contained: for one region and then for two, it starts its own PostgreSQL clusters
 * (central + each region, wal_level=logical, fsync on unless --fast; `@patungan/db/pg-cluster`)
 * and one settlement API process per region (bench/regions-api.ts, every process configured
 * with every region, as any instance may serve any region), tops up the regions' stock, then
 * for `seconds` keeps `concurrency` POST /settlements in flight per region (3 members, 2 lines,
 * local provider: every settlement holds stock). It prints settlements/s (all regions and per
 * region), request latency p50/p99, and the replication lag region → central: for each
 * acknowledged settlement, the time from its 201 to its row being visible in central's
 * consolidated copy (central polled every 20 ms, so ±20 ms). Clusters and processes are
 * stopped and removed at the end, also on failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { signToken } from '@patungan/model';
import { openDb, type Db } from '@patungan/db';
import { startPgClusters } from '@patungan/db/pg-cluster';
import { regionSlug } from '../src/regions.ts';
import { STORES } from '../src/seed.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '16' },
    fast: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const C = Number(values.concurrency);
const SECRET = 'bench-secret-0123456789-0123456789-regions';
const REGIONS = ['dki-jakarta', 'jawa-barat'];
const HERE = resolve(import.meta.dirname);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const r1 = (x: number) => Math.round(x * 10) / 10;

async function startApi(env: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'regions-api.ts'], {
    cwd: HERE,
    env: { ...process.env, ...env, ROOM_TOKEN_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(() => {
    throw new Error('a settlement API process exited before it was ready');
  });
  const ready = (async () => {
    for await (const line of lines) {
      if (line.startsWith('{"ready"')) return (JSON.parse(line) as { url: string }).url;
    }
    throw new Error('no ready line');
  })();
  return { url: await Promise.race([ready, exited]), child };
}

async function until(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  // not migrated yet is "not yet"
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runMode(n: number) {
  const slugs = REGIONS.slice(0, n);
  const set = await startPgClusters(['central', ...slugs], { unsafeFast: values.fast });
  const children: ChildProcess[] = [];
  const dbs: Db[] = [];
  try {
    const [central, ...regions] = set.clusters;
    const env = {
      DATABASE_URL: central!.url(),
      REGION_DATABASE_URLS: regions.map((c) => `${c.name}=${c.url()}`).join(','),
      HOLD_TTL_SECONDS: '900',
    };
    const apis: string[] = [];
    for (let i = 0; i < n; i++) {
      const api = await startApi(env);
      children.push(api.child);
      apis.push(api.url);
    }
    const centralDb = await openDb({ databaseUrl: central!.url(), poolSize: 2 });
    dbs.push(centralDb);
    const storesOf = (slug: string) =>
      STORES.filter((s) => regionSlug(s.region) === slug).map((s) => s.id);
    let skus: string[] = [];
    for (const c of regions) {
      const db = await openDb({ databaseUrl: c.url(), poolSize: 2 });
      dbs.push(db);
      const mine = storesOf(c.name);
      await until(
        async () =>
          (
            await db.query<{ n: number }>(
              'SELECT count(DISTINCT store_id) AS n FROM stock WHERE store_id = ANY($1::text[])',
              [mine],
            )
          )[0]!.n === mine.length,
        60_000,
        `stock in ${c.name}`,
      );
      // plenty of everything: the bench measures settling, not running out
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO stock_ledger (store_id, sku, d_on_hand, reason, ref, at)
           SELECT store_id, sku, 1000000, 'adjust', 'bench', now() FROM stock`,
        );
        await tx.query('UPDATE stock SET on_hand = on_hand + 1000000');
      });
      skus = (await db.query<{ sku: string }>('SELECT sku FROM products ORDER BY sku')).map(
        (r) => r.sku,
      );
    }
    const token = await signToken(
      { sub: 'bench', name: 'bench', room: '*', role: 'service' },
      SECRET,
    );

    // replication lag: 201 time → first seen in central
    const acked = new Map<string, number>();
    const lags: number[] = [];
    let polling = true;
    let drainUntil = Infinity;
    const poller = (async () => {
      while (polling || acked.size > 0) {
        if (acked.size > 0) {
          const ids = [...acked.keys()];
          const seen = await centralDb.query<{ id: string }>(
            'SELECT id FROM settlements WHERE id = ANY($1::text[])',
            [ids],
          );
          const now = performance.now();
          for (const { id } of seen) {
            lags.push(now - acked.get(id)!);
            acked.delete(id);
          }
        }
        if (!polling && Date.now() > drainUntil) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const latencies: number[] = [];
    const perRegion = new Map<string, number>(slugs.map((s) => [s, 0]));
    let errors = 0;
    let seq = 0;
    const end = performance.now() + SECONDS * 1000;
    const client = async (slug: string, api: string) => {
      const stores = storesOf(slug);
      while (performance.now() < end) {
        const i = seq++;
        const storeId = stores[i % stores.length]!;
        const body = {
          roomId: `bench-${n}-${i}`,
          cartVersion: 'v1',
          currency: 'IDR',
          storeId,
          organiser: 'a',
          split: { mode: 'equal' },
          members: ['a', 'b', 'c'].map((id) => ({ id, name: id, method: 'local' })),
          lines: [0, 1].map((k) => ({
            id: `l${k}`,
            sku: skus[(i * 7 + k * 13) % skus.length]!,
            qty: 1,
            addedBy: 'a',
          })),
        };
        const t0 = performance.now();
        const res = await fetch(`${api}/settlements`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${token}`,
            'idempotency-key': `bench-${n}-${i}`,
          },
          body: JSON.stringify(body),
        }).catch(() => null);
        const t1 = performance.now();
        const json = (await res?.json().catch(() => null)) as { id?: string } | null;
        if (res?.status === 201 && json?.id) {
          latencies.push(t1 - t0);
          perRegion.set(slug, perRegion.get(slug)! + 1);
          acked.set(json.id, t1);
        } else errors++;
      }
    };
    const t0 = performance.now();
    await Promise.all(
      slugs.flatMap((slug, r) => Array.from({ length: C }, () => client(slug, apis[r]!))),
    );
    const elapsed = (performance.now() - t0) / 1000;
    polling = false;
    drainUntil = Date.now() + 30_000;
    await poller;
    const total = [...perRegion.values()].reduce((a, b) => a + b, 0);
    return {
      regions: n,
      settlementsPerSecond: r1(total / elapsed),
      perRegion: Object.fromEntries([...perRegion].map(([k, v]) => [k, r1(v / elapsed)])),
      errors,
      latencyMs: { p50: r1(pct(latencies, 50)), p99: r1(pct(latencies, 99)) },
      replicationLagMs: {
        p50: r1(pct(lags, 50)),
        p99: r1(pct(lags, 99)),
        max: r1(Math.max(...lags)),
        measured: lags.length,
        neverArrived: acked.size,
      },
    };
  } finally {
    for (const c of children) {
      if (c.exitCode === null) {
        c.kill('SIGTERM');
        await Promise.race([once(c, 'exit'), new Promise((r) => setTimeout(r, 10_000))]);
        if (c.exitCode === null) c.kill('SIGKILL');
      }
    }
    for (const db of dbs) await db.close().catch(() => {});
    await set.remove();
  }
}

const { loadavg, cpus } = await import('node:os');
console.log(
  JSON.stringify({
    started: new Date().toISOString(),
    loadavg: loadavg().map(r1),
    cpus: cpus().length,
    seconds: SECONDS,
    concurrencyPerRegion: C,
    fsync: !values.fast,
  }),
);
const one = await runMode(1);
console.log(JSON.stringify(one));
const two = await runMode(2);
console.log(JSON.stringify(two));
console.log(
  JSON.stringify({
    speedup: r1((two.settlementsPerSecond / one.settlementsPerSecond) * 100) / 100,
    loadavg: loadavg().map(r1),
  }),
);
