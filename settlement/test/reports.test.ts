/**
 * Sales reports (docs/contracts.md "Store reports and stock tools"): the numbers equal a
 * direct SQL sum over the store's orders, days are the store's local days (WIB, WITA, WIT),
 * every day of the range is there, the range is checked, and only the store's staff (or the
 * service) may read it — over PGlite and PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { insertStores } from '../src/seed.ts';
import { DRIVERS } from './support/db.ts';
import { setStock, serviceFor, snapshot, until, type TestService } from './support/service.ts';

const STORE = 'jkt-menteng';
/** Indonesia keeps no daylight saving: each zone is a fixed offset (the oracle below uses it). */
const ZONES = [
  { region: 'DKI Jakarta', zone: 'Asia/Jakarta', hours: 7 },
  { region: 'Bali', zone: 'Asia/Makassar', hours: 8 },
  { region: 'Papua', zone: 'Asia/Jayapura', hours: 9 },
] as const;

const localToday = (zone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: zone, dateStyle: 'short' }).format(new Date());

let storeSeq = 0;
async function testStore(s: TestService, region: string): Promise<string> {
  const id = `tz-${++storeSeq}-${Math.random().toString(36).slice(2, 8)}`;
  await insertStores(s.db, [
    {
      id,
      name: `Toko ${id}`,
      address: 'Jl. Uji 1',
      city: 'Kota',
      region,
      lat: 0,
      lng: 0,
      openingHours: '08:00-22:00',
    },
  ]);
  return id;
}

interface FakeOrder {
  at: Date;
  status: 'paid' | 'packed' | 'ready_for_pickup' | 'completed' | 'cancelled';
  currency: 'IDR' | 'USD';
  lines: { sku: string; qty: number; unitPrice: number }[];
}

/** Writes orders as the settlement flow leaves them (settlement, its lines, its order). */
async function insertOrders(s: TestService, storeId: string, orders: FakeOrder[]) {
  for (const [i, o] of orders.entries()) {
    const id = `stl-${storeId}-${i}`;
    const total = o.lines.reduce((a, l) => a + l.qty * l.unitPrice, 0);
    const status = o.status === 'cancelled' ? 'cancelled' : o.status;
    await s.db.query(
      `INSERT INTO settlements (id, room_id, cart_version, store_id, organiser, currency, total,
         split, status, phase, hold_expires_at, created_at, updated_at)
       VALUES ($1, $2, 'v1', $3, 'ana', $4, $5, '{"mode":"equal"}', $6, 'done', $7, $7, $7)`,
      [id, `room-${id}`, storeId, o.currency, total, status, o.at],
    );
    for (const [j, l] of o.lines.entries()) {
      await s.db.query(
        `INSERT INTO settlement_lines (settlement_id, line_id, sku, name, qty, unit_price, amount, added_by)
         VALUES ($1, $2, $3, $3, $4, $5, $6, 'ana')`,
        [id, `l${j}`, l.sku, l.qty, l.unitPrice, l.qty * l.unitPrice],
      );
    }
    await s.db.query(
      `INSERT INTO orders (id, settlement_id, store_id, room_id, status, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6)`,
      [`ord-${id}`, id, storeId, `room-${id}`, o.status, o.at],
    );
  }
}

/**
 * The oracle: a direct SQL sum over the store's orders, days taken by adding the zone's fixed
 * offset to UTC (not the report's AT TIME ZONE), filtered to the range afterwards.
 */
async function directSums(
  s: TestService,
  storeId: string,
  hours: number,
  from: string,
  to: string,
) {
  const days = await s.db.query<{ day: string; total: number; orders: number }>(
    `SELECT to_char((o.created_at AT TIME ZONE 'UTC') + make_interval(hours => $2), 'YYYY-MM-DD') AS day,
       sum(s.total)::bigint AS total, count(*)::int AS orders
     FROM orders o JOIN settlements s ON s.id = o.settlement_id
     WHERE o.store_id = $1 AND o.status <> 'cancelled' AND s.currency = 'IDR' GROUP BY 1`,
    [storeId, hours],
  );
  const lines = await s.db.query<{ day: string; sku: string; qty: number; total: number }>(
    `SELECT to_char((o.created_at AT TIME ZONE 'UTC') + make_interval(hours => $2), 'YYYY-MM-DD') AS day,
       l.sku, sum(l.qty)::bigint AS qty, sum(l.amount)::bigint AS total
     FROM orders o JOIN settlements s ON s.id = o.settlement_id
       JOIN settlement_lines l ON l.settlement_id = s.id
     WHERE o.store_id = $1 AND o.status <> 'cancelled' AND s.currency = 'IDR' GROUP BY 1, 2`,
    [storeId, hours],
  );
  const inRange = (d: string) => d >= from && d <= to;
  const byDay = new Map(days.filter((d) => inRange(d.day)).map((d) => [d.day, d]));
  const bySku = new Map<string, { qty: number; total: number }>();
  for (const l of lines.filter((x) => inRange(x.day))) {
    const cur = bySku.get(l.sku) ?? { qty: 0, total: 0 };
    bySku.set(l.sku, { qty: cur.qty + l.qty, total: cur.total + l.total });
  }
  return {
    total: [...byDay.values()].reduce((a, d) => a + d.total, 0),
    orders: [...byDay.values()].reduce((a, d) => a + d.orders, 0),
    items: [...bySku.values()].reduce((a, d) => a + d.qty, 0),
    byDay,
    bySku,
  };
}

const SKUS = ['MIN-0001', 'MIN-0002', 'CAM-0001', 'ELE-0001', 'SEM-0001'];

describe.each(DRIVERS)('sales reports (%s)', (driver) => {
  const s = serviceFor(driver);

  it('equals a direct SQL sum over random orders around midnight, in each Indonesian zone', async () => {
    // Local midnights of 2026-03-09 … 2026-03-12; orders land within an hour either side.
    const base = Date.UTC(2026, 2, 10);
    const order = fc.record({
      day: fc.integer({ min: -1, max: 2 }),
      minutes: fc.integer({ min: -60, max: 60 }),
      status: fc.constantFrom('paid', 'packed', 'ready_for_pickup', 'completed', 'cancelled'),
      currency: fc.constantFrom('IDR', 'IDR', 'IDR', 'USD'),
      lines: fc.uniqueArray(
        fc.record({
          sku: fc.constantFrom(...SKUS),
          qty: fc.integer({ min: 1, max: 9 }),
          unitPrice: fc.integer({ min: 500, max: 250_000 }),
        }),
        { minLength: 1, maxLength: 3, selector: (l) => l.sku },
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ZONES),
        fc.array(order, { maxLength: 25 }),
        fc.constantFrom(
          ['2026-03-10', '2026-03-11'],
          ['2026-03-09', '2026-03-12'],
          ['2026-03-11', '2026-03-11'],
        ),
        async (z, raw, [from, to]) => {
          const storeId = await testStore(s, z.region);
          const orders = raw.map((o) => ({
            ...o,
            // local midnight of the day = UTC midnight − the zone's offset
            at: new Date(base + o.day * 86_400_000 - z.hours * 3_600_000 + o.minutes * 60_000),
          })) as FakeOrder[];
          await insertOrders(s, storeId, orders);
          const r = await s.request(
            'GET',
            `/stores/${storeId}/reports/sales?from=${from}&to=${to}`,
            {
              token: await s.token('staff', 'staff-1', storeId),
            },
          );
          expect(r.status).toBe(200);
          const want = await directSums(s, storeId, z.hours, from!, to!);
          expect(r.body).toMatchObject({
            storeId,
            timezone: z.zone,
            currency: 'IDR',
            from,
            to,
            total: want.total,
            orders: want.orders,
            items: want.items,
          });
          expect(r.body.byDay.map((d: { date: string }) => d.date)[0]).toBe(from);
          for (const d of r.body.byDay) {
            expect(d).toEqual({
              date: d.date,
              total: want.byDay.get(d.date)?.total ?? 0,
              orders: want.byDay.get(d.date)?.orders ?? 0,
            });
          }
          for (const p of r.body.topProducts)
            expect(want.bySku.get(p.sku)).toMatchObject({ qty: p.qty, total: p.total });
          expect(r.body.topProducts).toHaveLength(want.bySku.size);
        },
      ),
      { numRuns: driver === 'pglite' ? 15 : 25, seed: 1410 },
    );
  });

  it('an order paid at 23:59 and one at 00:00 local fall on two days; empty days are zeros', async () => {
    const storeId = await testStore(s, 'Bali'); // WITA, UTC+8
    const line = [{ sku: 'MIN-0001', qty: 2, unitPrice: 5500 }];
    await insertOrders(s, storeId, [
      {
        at: new Date('2026-05-01T15:59:59.999Z'),
        status: 'completed',
        currency: 'IDR',
        lines: line,
      },
      { at: new Date('2026-05-01T16:00:00.000Z'), status: 'paid', currency: 'IDR', lines: line },
      {
        at: new Date('2026-05-01T16:30:00.000Z'),
        status: 'cancelled',
        currency: 'IDR',
        lines: line,
      },
    ]);
    const r = await s.request(
      'GET',
      `/stores/${storeId}/reports/sales?from=2026-04-30&to=2026-05-03`,
      {
        token: await s.token('service', 'ops'),
      },
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ timezone: 'Asia/Makassar', total: 22_000, orders: 2, items: 4 });
    expect(r.body.byDay).toEqual([
      { date: '2026-04-30', total: 0, orders: 0 },
      { date: '2026-05-01', total: 11_000, orders: 1 },
      { date: '2026-05-02', total: 11_000, orders: 1 },
      { date: '2026-05-03', total: 0, orders: 0 },
    ]);
    expect(r.body.topProducts).toEqual([
      { sku: 'MIN-0001', name: 'Teh Botol', qty: 4, total: 22_000 },
    ]);
  });

  it('the demo stores carry their zone: Renon (Bali) and Losari (Makassar) are WITA, Menteng WIB', async () => {
    const token = await s.token('service', 'ops');
    const zone = async (id: string) =>
      (
        await s.request('GET', `/stores/${id}/reports/sales?from=2026-01-01&to=2026-01-01`, {
          token,
        })
      ).body.timezone;
    expect(await zone('dps-renon')).toBe('Asia/Makassar');
    expect(await zone('mks-losari')).toBe('Asia/Makassar');
    expect(await zone('mdn-kesawan')).toBe('Asia/Jakarta');
    expect(await zone(STORE)).toBe('Asia/Jakarta');
    // and the store itself says so (web starts a report at the store's today)
    expect((await s.request('GET', '/stores/dps-renon')).body.timezone).toBe('Asia/Makassar');
  });

  it('counts a group order paid through the real flow, on the store’s local today', async () => {
    await setStock(s, STORE, 'CAM-0002', 20);
    const service = await s.token('service', 'room-server');
    const staff = await s.token('staff', 'staff-1', STORE);
    const today = localToday('Asia/Jakarta');
    const before = (
      await s.request('GET', `/stores/${STORE}/reports/sales?from=${today}&to=${today}`, {
        token: staff,
      })
    ).body;
    const snap = snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0002', qty: 3 }] });
    const created = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
    });
    expect(created.status).toBe(201);
    for (const p of created.body.payments) {
      expect(
        (await s.request('POST', `/pay/${p.paymentId}`, { body: { action: 'authorize' } })).status,
      ).toBe(200);
    }
    await until(async () => {
      const v = await s.request('GET', `/settlements/${created.body.id}`, { token: service });
      return v.body.status === 'paid';
    });
    const after = (
      await s.request('GET', `/stores/${STORE}/reports/sales?from=${today}&to=${today}`, {
        token: staff,
      })
    ).body;
    expect(after.total - before.total).toBe(created.body.total);
    expect(after.orders - before.orders).toBe(1);
    expect(after.items - before.items).toBe(3);
    expect(after.topProducts.find((p: { sku: string }) => p.sku === 'CAM-0002')).toMatchObject({
      qty: 3,
      total: created.body.total,
    });
  });

  it('refuses a missing, malformed, reversed or too long range with 400 naming the field', async () => {
    const token = await s.token('staff', 'staff-1', STORE);
    const ask = (q: string) => s.request('GET', `/stores/${STORE}/reports/sales?${q}`, { token });
    const cases: [string, string][] = [
      ['to=2026-01-01', 'from'],
      ['from=2026-01-01', 'to'],
      ['from=2026-1-1&to=2026-01-02', 'from'],
      ['from=2026-02-30&to=2026-03-01', 'from'],
      ['from=2026-01-01&to=yesterday', 'to'],
      ['from=2026-03-02&to=2026-03-01', 'to'],
      ['from=2025-01-01&to=2026-01-02', 'to'],
      ['from=%E0&to=%', 'from'],
      ['from[]=2026-01-01&to=2026-01-02', 'from'],
    ];
    for (const [q, field] of cases) {
      const r = await ask(q);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
      expect(r.body.error.details.issues[0].field, q).toBe(field);
    }
    const year = await ask('from=2024-01-01&to=2024-12-31'); // 366 days: the longest range
    expect(year.status).toBe(200);
    expect(year.body.byDay).toHaveLength(366);
  });

  it('only staff of the store or the service may read it', async () => {
    const path = `/stores/${STORE}/reports/sales?from=2026-01-01&to=2026-01-07`;
    expect((await s.request('GET', path)).status).toBe(401);
    const other = await s.token('staff', 'staff-2', 'bdg-dago');
    expect(await s.request('GET', path, { token: other })).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden' } },
    });
    const member = await s.token('member', 'ana', 'room-1');
    expect((await s.request('GET', path, { token: member })).status).toBe(403);
    expect((await s.request('GET', path, { token: await s.token('service', 'ops') })).status).toBe(
      200,
    );
    const unknown = await s.request(
      'GET',
      '/stores/nope/reports/sales?from=2026-01-01&to=2026-01-01',
      {
        token: await s.token('staff', 'staff-3', 'nope'),
      },
    );
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'unknown_store' } } });
  });
});
