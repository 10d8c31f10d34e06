/**
 * Catalog, stores and stock: search, nearest stores with availability, staff stock writes
 * and the live stock stream — over PGlite and PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { demoProducts, demoStock, STORES } from '../src/seed.ts';
import { DRIVERS } from './support/db.ts';
import { openSse } from './support/sse.ts';
import { checkStockInvariants, setStock, serviceFor, until } from './support/service.ts';

describe('demo data', () => {
  it('is deterministic: ~200 products in 10 categories, 12 stores, uneven stock', () => {
    const a = demoProducts();
    expect(demoProducts()).toEqual(a);
    expect(a).toHaveLength(200);
    expect(new Set(a.map((p) => p.category)).size).toBe(10);
    expect(new Set(a.map((p) => p.sku)).size).toBe(200);
    for (const p of a) {
      expect(p.currency).toBe('IDR');
      expect(Number.isInteger(p.price) && p.price > 0).toBe(true);
    }
    expect(STORES).toHaveLength(12);
    expect(new Set(STORES.map((s) => s.city)).size).toBe(8);
    const stock = demoStock(STORES, a);
    const zeros = stock.filter((x) => x.onHand === 0).length;
    expect(zeros).toBeGreaterThan(stock.length * 0.08);
    expect(zeros).toBeLessThan(stock.length * 0.3);
    expect(demoProducts(10_000).length).toBe(10_000);
    expect(new Set(demoProducts(10_000).map((p) => p.sku)).size).toBe(10_000);
  });
});

describe.each(DRIVERS)('catalog and stock (%s)', (driver) => {
  const s = serviceFor(driver);

  it('searches by words, category and price, paginated', async () => {
    const r = await s.request('GET', '/products?q=TEH%20bot&size=5');
    expect(r.status).toBe(200);
    expect(r.body.items.length).toBeGreaterThan(0);
    for (const p of r.body.items) expect(p.name.toLowerCase()).toContain('teh bot');
    const all = await s.request('GET', '/products?size=100&page=2');
    expect(all.body).toMatchObject({ total: 200, page: 2, size: 100 });
    expect(all.body.items).toHaveLength(100);
    const cat = await s.request(
      'GET',
      '/products?category=elektronik&minPrice=50000&maxPrice=150000&size=100',
    );
    expect(cat.body.total).toBeGreaterThan(0);
    for (const p of cat.body.items) {
      expect(p.category).toBe('elektronik');
      expect(p.price).toBeGreaterThanOrEqual(50_000);
      expect(p.price).toBeLessThanOrEqual(150_000);
    }
    expect((await s.request('GET', '/products?q=%25')).body.total).toBe(0); // LIKE wildcards are literal
    const past = await s.request('GET', '/products?page=99&size=50');
    expect(past.body).toMatchObject({ items: [], total: 200 });
    const bad = await s.request('GET', '/products?size=1000&page=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues.map((i: { field: string }) => i.field).sort()).toEqual([
      'page',
      'size',
    ]);
    expect((await s.request('GET', '/categories')).body.items).toHaveLength(10);
  });

  it('returns a product, or 404 unknown_sku', async () => {
    const p = await s.request('GET', '/products/MIN-0001');
    expect(p.body).toMatchObject({ sku: 'MIN-0001', name: 'Teh Botol', currency: 'IDR' });
    expect(p.body.image).toBe('/img/products/MIN-0001.svg'); // drawn by web
    const missing = await s.request('GET', '/products/NOPE');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'unknown_sku' } } });
  });

  it('lists stores by distance with per-sku availability and whether the cart fits', async () => {
    await setStock(s, 'bdg-dago', 'ELE-0001', 3);
    await setStock(s, 'bdg-buah-batu', 'ELE-0001', 1);
    // from Bandung: both Bandung stores first
    const r = await s.request('GET', '/stores?lat=-6.9&lng=107.62&skus=ELE-0001:2');
    expect(r.status).toBe(200);
    const [first, second] = r.body.items;
    expect([first.city, second.city]).toEqual(['Bandung', 'Bandung']);
    expect(first.distanceKm).toBeLessThanOrEqual(second.distanceKm);
    const dago = r.body.items.find((x: { id: string }) => x.id === 'bdg-dago');
    const bb = r.body.items.find((x: { id: string }) => x.id === 'bdg-buah-batu');
    expect(dago).toMatchObject({
      availability: [{ sku: 'ELE-0001', wanted: 2, available: 3 }],
      canFulfil: true,
    });
    expect(bb).toMatchObject({
      availability: [{ sku: 'ELE-0001', wanted: 2, available: 1 }],
      canFulfil: false,
    });
    expect(r.body.total).toBe(12);
    expect((await s.request('GET', '/stores?skus=NOPE')).status).toBe(404);
    expect((await s.request('GET', '/stores?lat=abc')).status).toBe(400);
    expect((await s.request('GET', '/stores?skus=ELE-0001:0')).status).toBe(400);
    expect((await s.request('GET', '/stores/nowhere/stock')).body.error.code).toBe('unknown_store');
  });

  it('lets only staff of the store set on-hand stock, never below held + committed', async () => {
    const path = '/stores/jkt-menteng/stock/MIN-0001';
    expect((await s.request('PUT', path, { body: { onHand: 5 } })).status).toBe(401);
    expect(
      (
        await s.request('PUT', path, {
          token: await s.token('member', 'x', 'r'),
          body: { onHand: 5 },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await s.request('PUT', path, {
          token: await s.token('staff', 'x', 'bdg-dago'),
          body: { onHand: 5 },
        })
      ).status,
    ).toBe(403);
    const staff = await s.token('staff', 'sari', 'jkt-menteng');
    expect((await s.request('PUT', path, { token: staff, body: { onHand: -1 } })).status).toBe(400);
    expect((await s.request('PUT', path, { token: staff, body: { onHand: 1.5 } })).status).toBe(
      400,
    );
    expect(
      (
        await s.request('PUT', '/stores/jkt-menteng/stock/NOPE', {
          token: staff,
          body: { onHand: 1 },
        })
      ).status,
    ).toBe(404);
    const ok = await s.request('PUT', path, { token: staff, body: { onHand: 7 } });
    expect(ok.body).toEqual({
      storeId: 'jkt-menteng',
      sku: 'MIN-0001',
      onHand: 7,
      held: 0,
      committed: 0,
      available: 7,
    });
    // hold 3, then try to go below
    const service = await s.token('service', 'room-server');
    const snap = {
      roomId: 'stock-floor',
      cartVersion: 'v1',
      currency: 'IDR',
      storeId: 'jkt-menteng',
      organiser: 'ana',
      split: { mode: 'equal' },
      members: [{ id: 'ana', name: 'Ana', method: 'local' }],
      lines: [{ id: 'l1', sku: 'MIN-0001', qty: 3, addedBy: 'ana' }],
    };
    expect(
      (
        await s.request('POST', '/settlements', {
          token: service,
          body: snap,
          headers: { 'idempotency-key': 'floor' },
        })
      ).status,
    ).toBe(201);
    const refused = await s.request('PUT', path, { token: staff, body: { onHand: 2 } });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'below_reserved',
      details: { held: 3, committed: 0 },
    });
    expect(
      (await s.request('PUT', path, { token: staff, body: { onHand: 3 } })).body.available,
    ).toBe(0);
    await checkStockInvariants(s);
  });

  it('streams every stock change as Server-Sent Events', async () => {
    const sse = await openSse(`${s.url}/stores/sby-rungkut/stock/stream`);
    const next = sse.next;
    try {
      const snap = await next('snapshot');
      expect(snap.data.storeId).toBe('sby-rungkut');
      expect(snap.data.items.length).toBe(200);
      await setStock(s, 'sby-rungkut', 'CAM-0020', 42);
      const ev = await next('stock');
      expect(ev.data).toMatchObject({
        type: 'stock',
        storeId: 'sby-rungkut',
        sku: 'CAM-0020',
        onHand: 42,
        available: 42,
        reason: 'adjust',
      });
      expect(ev.data.seq).toBeGreaterThan(0);
    } finally {
      await sse.close();
    }
  });

  it('streams several stores in one stream, each event naming its store; counts open streams', async () => {
    const open = async () =>
      Number(
        /^settlement_stock_streams (\d+)/m.exec(
          await fetch(`${s.url}/metrics`).then((r) => r.text()),
        )?.[1],
      );
    // the earlier test's stream ends once the service notices its client left
    await until(async () => (await open()) === 0, 5000, 'no stream open');
    const sse = await openSse(`${s.url}/stock/stream?stores=sby-rungkut,jkt-menteng`);
    try {
      const first = await sse.next('snapshot');
      const second = await sse.next('snapshot');
      expect([first.data.storeId, second.data.storeId].sort()).toEqual([
        'jkt-menteng',
        'sby-rungkut',
      ]);
      expect(await open()).toBe(1);
      await setStock(s, 'jkt-menteng', 'CAM-0019', 17);
      expect((await sse.next('stock')).data).toMatchObject({
        storeId: 'jkt-menteng',
        sku: 'CAM-0019',
        onHand: 17,
      });
      await setStock(s, 'sby-rungkut', 'CAM-0019', 18);
      expect((await sse.next('stock')).data).toMatchObject({ storeId: 'sby-rungkut', onHand: 18 });
    } finally {
      await sse.close();
    }
    await until(async () => (await open()) === 0, 5000, 'the stream closed');
    // unknown store, too many stores, a bad list: clear refusals
    expect((await s.request('GET', '/stock/stream?stores=sby-rungkut,nope')).status).toBe(404);
    const many = Array.from({ length: 11 }, (_, i) => `st${i}`).join(',');
    expect((await s.request('GET', `/stock/stream?stores=${many}`)).status).toBe(400);
    expect((await s.request('GET', '/stock/stream?stores=a,,b')).status).toBe(400);
    expect((await s.request('GET', '/stock/stream')).status).toBe(400);
  });

  it('answers health, metrics and unknown routes, and no CORS', async () => {
    expect((await s.request('GET', '/healthz')).body).toMatchObject({ status: 'ok', db: driver });
    const m = await fetch(`${s.url}/metrics`).then((r) => r.text());
    expect(m).toContain('settlement_http_request_seconds');
    const res = await fetch(`${s.url}/products/MIN-0001`, {
      headers: { origin: 'http://localhost:3000' },
    });
    // The browser reaches settlement through web (decision 0007): no CORS.
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect((await s.request('GET', '/nope')).body.error.code).toBe('not_found');
  });
});
