/**
 * Regions (docs/contracts.md "Regions"): three real PostgreSQL clusters with wal_level=logical
 * — central and two regions (dki-jakarta, jawa-barat) — replicating natively, one settlement
 * process in front (a real child process, `src/main.ts`, as it runs in production). Stores of
 * other provinces (Jawa Timur: sby-tunjungan) live in central.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '@patungan/model';
import { openDb, type Db } from '@patungan/db';
import { startPgClusters, type PgClusterSet } from '@patungan/db/pg-cluster';
import { codeOfId, codeOfRef, regionCode, regionSlug } from '../src/regions.ts';
import { SECRET, snapshot, until } from './support/service.ts';

const A = 'dki-jakarta'; // jkt-menteng, jkt-kemang, jkt-kelapa-gading
const B = 'jawa-barat'; // bdg-dago, bdg-buah-batu
const CODE_A = regionCode(A);
const CODE_B = regionCode(B);

let clusters: PgClusterSet | undefined;
let child: ChildProcess | undefined;
let url = '';
const raw: Record<'central' | 'a' | 'b', Db | undefined> = {
  central: undefined,
  a: undefined,
  b: undefined,
};
const db = (k: keyof typeof raw) => raw[k]!;

beforeAll(async () => {
  clusters = await startPgClusters(['central', 'a', 'b']);
  const [c, a, b] = clusters.clusters;
  child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: resolve(import.meta.dirname, '..'),
    env: {
      ...process.env,
      DATABASE_URL: c!.url(),
      REGION_DATABASE_URLS: `${A}=${a!.url()},${B}=${b!.url()}`,
      ROOM_TOKEN_SECRET: SECRET,
      PORT: '0',
      HOLD_TTL_SECONDS: '4',
      SETTLEMENT_WORKER_POLL_MS: '200',
      // nothing listens there: status events to rooms are retried, harmlessly
      ROOM_SERVER_INTERNAL_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
      REDIS_URL: '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit').then(() => {
    throw new Error('settlement exited before it was ready');
  });
  const ready = (async () => {
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line.startsWith('{"ready"')) return (JSON.parse(line) as { url: string }).url;
    }
    throw new Error('settlement printed no ready line');
  })();
  url = await Promise.race([ready, exited]);
  raw.central = await openDb({ databaseUrl: c!.url(), poolSize: 2, connectTimeoutSeconds: 2 });
  raw.a = await openDb({ databaseUrl: a!.url(), poolSize: 2, connectTimeoutSeconds: 2 });
  raw.b = await openDb({ databaseUrl: b!.url(), poolSize: 2, connectTimeoutSeconds: 2 });
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const gone = once(child, 'exit');
    child.kill('SIGTERM');
    const t = setTimeout(() => child?.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }
  for (const d of Object.values(raw)) await d?.close().catch(() => {});
  await clusters?.remove();
}, 120_000);

async function call(
  method: string,
  path: string,
  o: { token?: string; body?: unknown; key?: string } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...(o.key ? { 'idempotency-key': o.key } : {}),
    },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const service = () => signToken({ sub: 'svc', name: 'svc', room: '*', role: 'service' }, SECRET);
const staff = (store: string) =>
  signToken({ sub: 'staff-1', name: 'staff-1', store, role: 'staff' }, SECRET);

/** A sku in stock at `storeId`. */
async function skuAt(storeId: string): Promise<string> {
  const r = await call('GET', `/stores/${storeId}/stock`);
  const row = r.body.items?.find((i: { available: number }) => i.available > 0);
  if (!row) throw new Error(`no stock at ${storeId}: ${r.status} ${JSON.stringify(r.body)}`);
  return row.sku;
}

/** A checkout at `storeId` (one unit of `sku`, else of a sku in stock there): the POST's answer. */
async function checkout(storeId: string, sku?: string) {
  const line = { sku: sku ?? (await skuAt(storeId)), qty: 1 };
  const snap = snapshot({ storeId, members: [{ id: 'ana' }], lines: [line] });
  return call('POST', '/settlements', {
    token: await service(),
    body: snap,
    key: `${snap.roomId}:${snap.cartVersion}`,
  });
}

async function settlementIn(d: Db, id: string): Promise<boolean> {
  return (await d.query('SELECT 1 FROM settlements WHERE id = $1', [id])).length > 0;
}

describe('regions', () => {
  it('catalog and store directory written in central reach every region', async () => {
    expect(regionSlug('DKI Jakarta')).toBe('dki-jakarta');
    // each region serves once migrated and stocked (its stock arrives after the catalog)
    for (const store of ['jkt-menteng', 'bdg-dago']) {
      await until(
        async () => (await call('GET', `/stores/${store}/stock`)).body?.items?.length > 0,
        30_000,
        `stock at ${store}`,
      );
    }
    await db('central').query(
      `INSERT INTO products (sku, name, category, description, price, currency, image, search)
       VALUES ('REG-0001', 'Kopi Region', 'minuman', 'x', 12000, 'IDR', '/img', 'kopi region')`,
    );
    await db('central').query(
      `INSERT INTO stores (id, name, address, city, region, lat, lng, opening_hours)
       VALUES ('jkt-new', 'Toko Baru', 'Jl. Baru 1', 'Jakarta', 'DKI Jakarta', -6.2, 106.8, '08:00-22:00')`,
    );
    for (const k of ['a', 'b'] as const) {
      await until(
        async () =>
          (await db(k).query(`SELECT 1 FROM products WHERE sku = 'REG-0001'`)).length > 0 &&
          (await db(k).query(`SELECT 1 FROM stores WHERE id = 'jkt-new'`)).length > 0 &&
          (await db(k).query(`SELECT count(*) AS n FROM products`))[0]!.n === 201,
        20_000,
        `catalog in region ${k}`,
      );
    }
    // each region stocked its own stores, and only those; central the rest
    const stocked = async (k: keyof typeof raw) =>
      (await db(k).query<{ store_id: string }>('SELECT DISTINCT store_id FROM stock')).map(
        (r) => r.store_id,
      );
    await until(async () => (await stocked('a')).length === 3, 20_000, 'stock in region a');
    await until(async () => (await stocked('b')).length === 2, 20_000, 'stock in region b');
    expect((await stocked('a')).sort()).toEqual(['jkt-kelapa-gading', 'jkt-kemang', 'jkt-menteng']);
    expect((await stocked('b')).sort()).toEqual(['bdg-buah-batu', 'bdg-dago']);
  });

  it("a checkout in a region is stored only there, routes by its ids, and reaches central's copy", async () => {
    const r = await checkout('jkt-menteng');
    expect(r.status).toBe(201);
    const id: string = r.body.id;
    expect(codeOfId(id)).toBe(CODE_A);
    expect(await settlementIn(db('a'), id)).toBe(true);
    expect(await settlementIn(db('b'), id)).toBe(false);
    for (const p of r.body.payments) {
      expect(codeOfId(p.paymentId)).toBe(CODE_A);
      expect(
        (await call('POST', `/pay/${p.paymentId}`, { body: { action: 'authorize' } })).status,
      ).toBe(200);
    }
    const view = await until(
      async () => {
        const v = (await call('GET', `/settlements/${id}`, { token: await service() })).body;
        return v.status === 'paid' && v.orderId ? v : null;
      },
      15_000,
      'paid',
    );
    expect(codeOfRef(view.orderRef)).toBe(CODE_A);
    expect(codeOfId(view.orderId)).toBe(CODE_A);
    const order = await call('GET', `/orders/${view.orderId}`, {
      token: await staff('jkt-menteng'),
    });
    expect(order.status).toBe(200);
    const byRef = await call('GET', `/stores/jkt-menteng/orders/ref/${view.orderRef}`, {
      token: await staff('jkt-menteng'),
    });
    expect(byRef.body.id).toBe(view.orderId);
    // central's consolidated copy (never written by the service); right after the
    // subscriptions are made each table catches up on its own, so wait for both
    await until(
      async () =>
        (await db('central').query('SELECT 1 FROM orders WHERE id = $1', [view.orderId])).length >
          0 && (await settlementIn(db('central'), id)),
      15_000,
      'order and settlement in central',
    );

    // region B and central's own stores
    const rb = await checkout('bdg-dago');
    expect(rb.status).toBe(201);
    expect(codeOfId(rb.body.id)).toBe(CODE_B);
    expect(await settlementIn(db('b'), rb.body.id)).toBe(true);
    expect(await settlementIn(db('a'), rb.body.id)).toBe(false);
    const rc = await checkout('sby-tunjungan');
    expect(rc.status).toBe(201);
    expect(codeOfId(rc.body.id)).toBeNull();
    expect(await settlementIn(db('central'), rc.body.id)).toBe(true);
  });

  it('a region down answers 503 region_unavailable, the others sell on (central down too), and nothing acknowledged is lost', async () => {
    const [central, , b] = clusters!.clusters;
    // checkouts under way in B while its database stops
    const sku = await skuAt('bdg-buah-batu');
    const inFlight = Array.from({ length: 6 }, (_, i) =>
      new Promise((r) => setTimeout(r, i * 40))
        .then(() => checkout('bdg-buah-batu', sku))
        .catch(() => null),
    );
    await new Promise((r) => setTimeout(r, 60));
    await b!.stop();
    const answers = await Promise.all(inFlight);
    const acknowledged = answers.filter((x) => x?.status === 201).map((x) => x!.body.id as string);
    for (const x of answers)
      if (x && x.status !== 201) expect(x.body.error.code).toBe('region_unavailable');

    const stock = await call('GET', '/stores/bdg-dago/stock');
    expect(stock).toMatchObject({ status: 503, body: { error: { code: 'region_unavailable' } } });
    const orders = await call('GET', '/stores/bdg-dago/orders', { token: await staff('bdg-dago') });
    expect(orders).toMatchObject({ status: 503, body: { error: { code: 'region_unavailable' } } });
    const stl = await call('POST', '/settlements', {
      token: await service(),
      body: snapshot({ storeId: 'bdg-dago' }),
      key: 'down-1',
    });
    expect(stl.body.error.code).toBe('region_unavailable');
    // the operator's view: which region cannot sell
    expect(await call('GET', '/healthz')).toMatchObject({
      status: 200,
      body: { status: 'degraded', regions: { central: 'ok', [A]: 'ok', [B]: 'unavailable' } },
    });

    // A sells on; then with central down as well
    const skuA = await skuAt('jkt-kelapa-gading');
    expect((await checkout('jkt-kemang')).status).toBe(201);
    await central!.stop();
    const whileCentralDown = await checkout('jkt-kelapa-gading', skuA);
    expect(whileCentralDown.status).toBe(201);
    expect(await settlementIn(db('a'), whileCentralDown.body.id)).toBe(true);
    expect((await call('GET', '/products?limit=1')).status).toBe(200); // from A's replica
    const own = await call('GET', '/stores/sby-tunjungan/stock');
    expect(own).toMatchObject({ status: 503, body: { error: { code: 'region_unavailable' } } });

    await central!.start();
    await b!.start();
    for (const id of acknowledged) expect(await settlementIn(db('b'), id)).toBe(true);
    // B serves again once its pool has reconnected (a request meanwhile: 503, retry)
    await until(
      async () => (await call('GET', '/stores/bdg-dago/stock').catch(() => null))?.status === 200,
      30_000,
      'region b back',
    );
    expect((await checkout('bdg-dago')).status).toBe(201);
    expect(await call('GET', '/healthz')).toMatchObject({
      status: 200,
      body: { status: 'ok', regions: { central: 'ok', [A]: 'ok', [B]: 'ok' } },
    });
    // every hold ends: each region's worker loop expires what nobody paid (TTL 4 s)
    for (const k of ['a', 'b', 'central'] as const) {
      await until(
        async () => (await db(k).query(`SELECT 1 FROM holds WHERE status = 'held'`)).length === 0,
        20_000,
        `holds ended in ${k}`,
      );
    }
    // and central's copy caught up with what B acknowledged while it was away
    await until(
      async () => {
        for (const id of [...acknowledged, whileCentralDown.body.id as string])
          if (!(await settlementIn(db('central'), id))) return false;
        return true;
      },
      20_000,
      "central's copy caught up",
    );
  });
});
