/**
 * End to end over HTTP with the `local` provider, on PGlite and on PostgreSQL: the group
 * pays → paid; someone never pays → expired and everything undone; a decline covered by a
 * friend → paid; retries, cancel, and the staff order flow to pickup.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '@patungan/model';
import { offsetClock } from '../src/clock.ts';
import { DRIVERS } from './support/db.ts';
import {
  checkStockInvariants,
  SECRET,
  setStock,
  snapshot,
  serviceFor,
  until,
} from './support/service.ts';

const STORE = 'bdg-dago';

describe.each(DRIVERS)('settlement flow (%s)', (driver) => {
  let service: string;
  const clock = offsetClock();

  // A long hold, so slow machines never expire a test's settlement by accident; the expiry
  // test moves the clock instead.
  const s = serviceFor(driver, { holdTtlSeconds: 60, clock });
  beforeAll(async () => {
    service = await s.token('service', 'room-server');
  });

  async function create(
    snap: ReturnType<typeof snapshot>,
    key = `${snap.roomId}:${snap.cartVersion}`,
  ) {
    return s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': key },
    });
  }
  async function stockOf(sku: string) {
    const r = await s.request('GET', `/stores/${STORE}/stock`);
    return r.body.items.find((i: { sku: string }) => i.sku === sku);
  }
  const pay = (paymentId: string, action: 'authorize' | 'decline') =>
    s.request('POST', `/pay/${paymentId}`, { body: { action } });
  const get = async (id: string) =>
    (await s.request('GET', `/settlements/${id}`, { token: service })).body;

  it('three members all authorise: paid, stock committed, shares add up to the total', async () => {
    await setStock(s, STORE, 'CAM-0001', 10);
    await setStock(s, STORE, 'MIN-0002', 10);
    const snap = snapshot({
      storeId: STORE,
      lines: [
        { sku: 'CAM-0001', qty: 2 },
        { sku: 'MIN-0002', qty: 3, addedBy: 'budi' },
      ],
    });
    const r = await create(snap);
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('awaiting_payment');
    const prices = await Promise.all(
      ['CAM-0001', 'MIN-0002'].map(
        async (k) => (await s.request('GET', `/products/${k}`)).body.price,
      ),
    );
    expect(r.body.total).toBe(prices[0] * 2 + prices[1] * 3);
    expect(r.body.payments.reduce((a: number, p: { amount: number }) => a + p.amount, 0)).toBe(
      r.body.total,
    );
    expect(r.body.payments).toHaveLength(3);
    for (const p of r.body.payments) expect(p.payUrl).toBe(`${s.url}/pay/${p.paymentId}`);
    expect(await stockOf('CAM-0001')).toMatchObject({ onHand: 10, held: 2, available: 8 });

    for (const p of r.body.payments) expect((await pay(p.paymentId, 'authorize')).status).toBe(200);
    const done = await until(async () => {
      const v = await get(r.body.id);
      return v.status === 'paid' && v;
    });
    expect(done.payments.map((p: { status: string }) => p.status)).toEqual([
      'captured',
      'captured',
      'captured',
    ]);
    expect(done.orderId).toMatch(/^ord_/);
    expect(await stockOf('CAM-0001')).toMatchObject({
      onHand: 10,
      held: 0,
      committed: 2,
      available: 8,
    });
    await checkStockInvariants(s);
  });

  it('one member never pays: expired, stock back, the others’ authorisations voided', async () => {
    await setStock(s, STORE, 'CAM-0002', 5);
    const r = await create(snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0002', qty: 3 }] }));
    expect(r.status).toBe(201);
    const [a, b] = r.body.payments;
    await pay(a.paymentId, 'authorize');
    await pay(b.paymentId, 'authorize');
    expect(await stockOf('CAM-0002')).toMatchObject({ held: 3, available: 2 });
    clock.advance(61_000);
    s.ctx.kick();
    const v = await until(async () => {
      const x = await get(r.body.id);
      return x.status === 'expired' && x;
    });
    expect(v.reason).toMatch(/expired/);
    expect(v.payments.map((p: { status: string }) => p.status)).toEqual([
      'voided',
      'voided',
      'voided',
    ]);
    const attempts = await s.db.query<{ status: string }>(
      'SELECT status FROM payment_attempts WHERE settlement_id = $1',
      [r.body.id],
    );
    await until(async () => {
      const xs = await s.db.query<{ status: string }>(
        'SELECT status FROM payment_attempts WHERE settlement_id = $1',
        [r.body.id],
      );
      return xs.every((x) => x.status === 'voided');
    });
    expect(attempts).toHaveLength(3);
    expect(await stockOf('CAM-0002')).toMatchObject({
      onHand: 5,
      held: 0,
      committed: 0,
      available: 5,
    });
    const holds = await s.db.query<{ status: string }>(
      'SELECT status FROM holds WHERE settlement_id = $1',
      [r.body.id],
    );
    expect(holds.map((h) => h.status)).toEqual(['expired']);
    // too late to pay now
    expect((await pay(r.body.payments[2].paymentId, 'authorize')).status).toBe(409);
    await checkStockInvariants(s);
  });

  it('one member declines and another covers: paid, the coverer pays both shares', async () => {
    await setStock(s, STORE, 'CAM-0003', 5);
    const r = await create(snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0003', qty: 3 }] }));
    const [ana, budi, citra] = r.body.payments;
    await pay(ana.paymentId, 'authorize');
    await pay(citra.paymentId, 'decline');
    let v = await get(r.body.id);
    expect(v.payments[2].status).toBe('declined');
    expect(v.status).toBe('awaiting_payment');

    const budiToken = await s.token('member', 'budi', v.roomId);
    const c = await s.request('POST', `/settlements/${r.body.id}/payments/citra/cover`, {
      token: budiToken,
      body: {},
    });
    expect(c.status).toBe(200);
    expect(c.body.covered).toMatchObject({
      memberId: 'citra',
      status: 'covered',
      coveredBy: 'budi',
    });
    expect(c.body.coverer).toMatchObject({
      memberId: 'budi',
      amount: budi.amount + citra.amount,
      status: 'pending',
      attempt: 2,
    });
    await pay(budi.paymentId, 'authorize');
    v = await until(async () => {
      const x = await get(r.body.id);
      return x.status === 'paid' && x;
    });
    expect(v.payments.map((p: { status: string }) => p.status)).toEqual([
      'captured',
      'captured',
      'covered',
    ]);
    expect(v.payments[1].amount + v.payments[0].amount).toBe(v.total);
    await checkStockInvariants(s);
  });

  it('a declined share may be retried with another method (pay at the store)', async () => {
    await setStock(s, STORE, 'CAM-0004', 5);
    const r = await create(
      snapshot({
        storeId: STORE,
        members: [{ id: 'ana' }, { id: 'budi' }],
        lines: [{ sku: 'CAM-0004', qty: 1 }],
      }),
    );
    const [ana, budi] = r.body.payments;
    await pay(budi.paymentId, 'decline');
    const room = (await get(r.body.id)).roomId;
    // only budi (or a service) may retry budi's share
    const anaToken = await s.token('organiser', 'ana', room);
    expect(
      (
        await s.request('POST', `/settlements/${r.body.id}/payments/budi/retry`, {
          token: anaToken,
          body: { method: 'store' },
        })
      ).status,
    ).toBe(403);
    const budiToken = await s.token('member', 'budi', room);
    expect(
      (
        await s.request('POST', `/settlements/${r.body.id}/payments/budi/retry`, {
          token: budiToken,
          body: { method: 'paypal' },
        })
      ).status,
    ).toBe(400);
    const rr = await s.request('POST', `/settlements/${r.body.id}/payments/budi/retry`, {
      token: budiToken,
      body: { method: 'store' },
    });
    expect(rr.status).toBe(200);
    expect(rr.body).toMatchObject({ status: 'due_at_store', method: 'store' });
    await pay(ana.paymentId, 'authorize');
    const v = await until(async () => {
      const x = await get(r.body.id);
      return x.status === 'paid' && x;
    });
    expect(v.payments.map((p: { status: string }) => p.status)).toEqual([
      'captured',
      'due_at_store',
    ]);
  });

  it('staff moves the order to pickup; completing it sells the stock', async () => {
    await setStock(s, STORE, 'CAM-0005', 4);
    const r = await create(
      snapshot({
        storeId: STORE,
        members: [{ id: 'ana' }, { id: 'budi', method: 'store' }],
        lines: [{ sku: 'CAM-0005', qty: 2 }],
      }),
    );
    expect(r.body.payments[1].status).toBe('due_at_store');
    await pay(r.body.payments[0].paymentId, 'authorize');
    const paid = await until(async () => {
      const x = await get(r.body.id);
      return x.status === 'paid' && x;
    });
    const staff = await s.token('staff', 'sari', STORE);
    const other = await s.token('staff', 'eko', 'jkt-menteng');
    expect((await s.request('GET', `/stores/${STORE}/orders`)).status).toBe(401);
    expect((await s.request('GET', `/stores/${STORE}/orders`, { token: other })).status).toBe(403);
    const list = await s.request('GET', `/stores/${STORE}/orders?status=paid`, { token: staff });
    expect(list.status).toBe(200);
    const order = list.body.items.find((o: { id: string }) => o.id === paid.orderId);
    expect(order).toMatchObject({ status: 'paid', lines: [{ sku: 'CAM-0005', qty: 2 }] });
    expect(order.dueAtStore).toEqual([
      { memberId: 'budi', name: 'budi', amount: r.body.payments[1].amount },
    ]);

    const to = (status: string, token = staff, pickupCode?: string) =>
      s.request('POST', `/orders/${paid.orderId}/status`, {
        token,
        body: { status, ...(pickupCode ? { pickupCode } : {}) },
      });
    expect((await to('ready_for_pickup')).status).toBe(409); // must be packed first
    expect((await to('packed', other)).status).toBe(403);
    expect((await to('packed')).body.status).toBe('packed');
    const ready = await to('ready_for_pickup');
    // the shoppers bring the code; staff answers never carry it
    expect(ready.body.pickupCode).toBeUndefined();
    const { pickupCode } = await get(r.body.id);
    expect(pickupCode).toMatch(/^[2-9A-Z]{6}$/);
    const found = await s.request(
      'GET',
      `/stores/${STORE}/orders/pickup/${pickupCode.toLowerCase()}`,
      { token: staff },
    );
    expect(found.body.id).toBe(paid.orderId);
    expect(
      (await s.request('GET', `/stores/${STORE}/orders/pickup/ZZZZZZ`, { token: staff })).status,
    ).toBe(404);
    expect((await to('completed', staff, pickupCode)).body.status).toBe('completed');
    const v = await get(r.body.id);
    expect(v).toMatchObject({ status: 'completed', pickupCode });
    expect(v.payments[1].status).toBe('captured');
    expect(await stockOf('CAM-0005')).toMatchObject({ onHand: 2, held: 0, committed: 0 });
    await checkStockInvariants(s);
  });

  it('cancel releases the hold and voids; a paid order cancelled is refunded and unreserved', async () => {
    await setStock(s, STORE, 'CAM-0006', 4);
    const a = await create(
      snapshot({ storeId: STORE, members: [{ id: 'ana' }], lines: [{ sku: 'CAM-0006', qty: 1 }] }),
    );
    await pay(a.body.payments[0].paymentId, 'authorize');
    await until(async () => (await get(a.body.id)).status === 'paid');
    const b = await create(
      snapshot({
        storeId: STORE,
        members: [{ id: 'ana' }, { id: 'budi' }],
        lines: [{ sku: 'CAM-0006', qty: 2 }],
      }),
    );
    await pay(b.body.payments[0].paymentId, 'authorize');
    expect(await stockOf('CAM-0006')).toMatchObject({ held: 2, committed: 1, available: 1 });

    const member = await s.token('member', 'ana', (await get(b.body.id)).roomId);
    expect(
      (await s.request('POST', `/settlements/${b.body.id}/cancel`, { token: member })).status,
    ).toBe(403);
    const cb = await s.request('POST', `/settlements/${b.body.id}/cancel`, {
      token: service,
      body: { reason: 'changed our minds' },
    });
    expect(cb.body).toMatchObject({ status: 'cancelled', reason: 'changed our minds' });
    expect(cb.body.payments.map((p: { status: string }) => p.status)).toEqual(['voided', 'voided']);
    const ca = await s.request('POST', `/settlements/${a.body.id}/cancel`, { token: service });
    expect(ca.body.status).toBe('cancelled');
    await until(async () => (await get(a.body.id)).payments[0].status === 'refunded');
    expect(await stockOf('CAM-0006')).toMatchObject({
      onHand: 4,
      held: 0,
      committed: 0,
      available: 4,
    });
    // cancelling twice is harmless
    expect(
      (await s.request('POST', `/settlements/${a.body.id}/cancel`, { token: service })).status,
    ).toBe(200);
    await checkStockInvariants(s);
  });

  it('the same Idempotency-Key returns the same settlement; another body is 422; refusals are not stored', async () => {
    await setStock(s, STORE, 'CAM-0007', 3);
    const snap = snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0007', qty: 2 }] });
    const first = await create(snap, 'key-1-' + snap.roomId);
    const again = await create(snap, 'key-1-' + snap.roomId);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await stockOf('CAM-0007')).toMatchObject({ held: 2 });
    const other = await create(
      { ...snap, lines: [{ ...snap.lines[0]!, qty: 1 }] },
      'key-1-' + snap.roomId,
    );
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');

    // a 409 is not stored: the same key works once the stock is there
    const big = snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0007', qty: 3 }] });
    const refused = await create(big, 'key-2-' + big.roomId);
    expect(refused.status).toBe(409);
    await setStock(s, STORE, 'CAM-0007', 5);
    expect((await create(big, 'key-2-' + big.roomId)).status).toBe(201);
    await checkStockInvariants(s);
  });

  it('refuses short stock naming every short sku, and holds nothing', async () => {
    await setStock(s, STORE, 'CAM-0008', 1);
    await setStock(s, STORE, 'CAM-0009', 0);
    await setStock(s, STORE, 'CAM-0010', 9);
    const r = await create(
      snapshot({
        storeId: STORE,
        lines: [
          { sku: 'CAM-0010', qty: 2 },
          { sku: 'CAM-0008', qty: 2 },
          { sku: 'CAM-0009', qty: 1 },
        ],
      }),
    );
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('insufficient_stock');
    const name = async (k: string) => (await s.request('GET', `/products/${k}`)).body.name;
    const store = (await s.request('GET', `/stores/${STORE}`)).body.name;
    // Product and store names ride along, so the room can say it in its reader's language.
    expect(r.body.error.details).toMatchObject({ storeId: STORE, storeName: store });
    expect(r.body.error.details.short).toEqual([
      { sku: 'CAM-0008', name: await name('CAM-0008'), wanted: 2, available: 1 },
      { sku: 'CAM-0009', name: await name('CAM-0009'), wanted: 1, available: 0 },
    ]);
    expect(r.body.error.message).toContain(await name('CAM-0008'));
    expect(await stockOf('CAM-0010')).toMatchObject({ held: 0, available: 9 });
    await checkStockInvariants(s);
  });

  it('validates input and who may call what', async () => {
    const bad = await s.request('POST', '/settlements', {
      token: service,
      headers: { 'idempotency-key': 'k' },
      body: { ...snapshot({}), members: [{ id: '', name: 'x', method: 'cash' }], lines: [] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    const fields = bad.body.error.details.issues.map((i: { field: string }) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['members.0.id', 'members.0.method', 'lines']));
    expect(
      (
        await s.request('POST', '/settlements', {
          token: service,
          headers: { 'idempotency-key': 'k' },
          body: '{not json',
        })
      ).status,
    ).toBe(400);
    expect(
      (await s.request('POST', '/settlements', { token: service, body: snapshot({}) })).status,
    ).toBe(400);
    expect(
      (
        await s.request('POST', '/settlements', {
          body: snapshot({}),
          headers: { 'idempotency-key': 'k' },
        })
      ).status,
    ).toBe(401);
    const member = await s.token('organiser', 'ana', 'room-x');
    expect(
      (
        await s.request('POST', '/settlements', {
          token: member,
          body: snapshot({}),
          headers: { 'idempotency-key': 'k' },
        })
      ).status,
    ).toBe(403);
    expect((await create(snapshot({ storeId: 'nowhere' }))).body.error.code).toBe('unknown_store');
    const unknown = await create(snapshot({ lines: [{ sku: 'NOPE-1', qty: 1 }] }));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.details.skus).toEqual(['NOPE-1']);
    const split = await create(snapshot({ split: { mode: 'half' } }));
    expect(split.status).toBe(422);
    expect(split.body.error.code).toBe('invalid_split');
    const stripe = await create(snapshot({ members: [{ id: 'ana', method: 'stripe' }] }));
    expect(stripe.status).toBe(422);
    expect(stripe.body.error.code).toBe('method_unavailable');
    expect((await create(snapshot({ currency: 'USD' }))).body.error.code).toBe('currency_mismatch');

    // GET: service, or a member of that room; not another room
    await setStock(s, STORE, 'CAM-0011', 3);
    const r = await create(snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0011', qty: 1 }] }));
    const v = await get(r.body.id);
    expect((await s.request('GET', `/settlements/${r.body.id}`)).status).toBe(401);
    // a token accepted before is refused once it expires, and one altered in its signature
    // is refused although the original was accepted (verified tokens are remembered)
    const exp = Math.floor(Date.now() / 1000) + 2;
    const brief = await signToken(
      { sub: 'room-server', name: 'room-server', role: 'service', room: '*', exp },
      SECRET,
    );
    const tampered = brief.slice(0, -2) + (brief.endsWith('AA') ? 'BB' : 'AA');
    const as = (token: string) => s.request('GET', `/settlements/${r.body.id}`, { token });
    expect((await as(brief)).status).toBe(200);
    expect((await as(tampered)).status).toBe(401);
    await new Promise((done) => setTimeout(done, exp * 1000 - Date.now() + 5));
    expect((await as(brief)).status).toBe(401);
    expect(
      (
        await s.request('GET', `/settlements/${r.body.id}`, {
          token: await s.token('member', 'x', v.roomId),
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await s.request('GET', `/settlements/${r.body.id}`, {
          token: await s.token('member', 'x', 'other'),
        })
      ).status,
    ).toBe(403);
    expect((await s.request('GET', '/settlements/stl_nope', { token: service })).status).toBe(404);
    expect(
      (await s.request('POST', '/pay/pay_nope', { body: { action: 'authorize' } })).status,
    ).toBe(404);
    expect(
      (
        await s.request('POST', `/pay/${r.body.payments[0].paymentId}`, {
          body: { action: 'steal' },
        })
      ).status,
    ).toBe(400);
  });

  it('splits exactly in every mode', async () => {
    await setStock(s, STORE, 'ELE-0002', 50);
    const members = [{ id: 'ana' }, { id: 'budi' }, { id: 'citra' }];
    const cases = [
      { mode: 'organiser' },
      { mode: 'half', partner: 'citra' },
      { mode: 'equal' },
      { mode: 'items' },
      { mode: 'shares', shares: { ana: 1, budi: 2, citra: 4 } },
      { mode: 'equal', adjustments: { budi: 1001 } },
    ];
    for (const split of cases) {
      const r = await create(
        snapshot({
          storeId: STORE,
          members,
          split,
          lines: [
            { sku: 'ELE-0002', qty: 1, addedBy: 'budi' },
            { sku: 'ELE-0002', qty: 2, addedBy: 'citra', sharedWith: ['ana', 'citra'] },
          ],
        }),
      );
      expect(r.status, JSON.stringify(split)).toBe(201);
      const sum = r.body.payments.reduce((a: number, p: { amount: number }) => a + p.amount, 0);
      expect(sum, JSON.stringify(split)).toBe(r.body.total);
      for (const p of r.body.payments) expect(Number.isInteger(p.amount)).toBe(true);
    }
  });

  it('serves the hosted pay page', async () => {
    await setStock(s, STORE, 'CAM-0012', 3);
    const r = await create(
      snapshot({
        storeId: STORE,
        members: [{ id: 'ana', name: 'Ana <3' }],
        lines: [{ sku: 'CAM-0012', qty: 1 }],
      }),
    );
    const id = r.body.payments[0].paymentId;
    const html = await fetch(`${s.url}/pay/${id}`).then((x) => x.text());
    expect(html).toContain('Ana &lt;3');
    expect(html).toContain('name="action" value="authorize"');
    const form = await fetch(`${s.url}/pay/${id}`, {
      method: 'POST',
      body: new URLSearchParams({ action: 'authorize' }),
      redirect: 'manual',
    });
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe(`/pay/${id}`);
    const after = await fetch(`${s.url}/pay/${id}`, {
      headers: { accept: 'application/json' },
    }).then((x) => x.json());
    expect(['authorized', 'captured']).toContain(after.status);
  });
});
