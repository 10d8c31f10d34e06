/**
 * The store's side of a pickup (docs/contracts.md "Store handover"): completing an order takes
 * the shoppers' pickup code (422 without it or with a wrong one; wrong codes lock the order
 * for a while), one `orderRef` that shoppers and staff both see, who collects, every line
 * note and a packing list per member in the staff view. Over HTTP, on PGlite and PostgreSQL.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { offsetClock } from '../src/clock.ts';
import { PICKUP_CODE_LOCK_MS, PICKUP_CODE_MAX_TRIES } from '../src/flow/fulfilment.ts';
import {
  PICKUP_LOOKUP_MAX_FAILURES_PER_STAFF,
  PICKUP_LOOKUP_MAX_FAILURES_PER_STORE,
  PICKUP_LOOKUP_WINDOW_MS,
} from '../src/flow/pickup-lookups.ts';
import { DRIVERS } from './support/db.ts';
import { setStock, snapshot, serviceFor, until } from './support/service.ts';

const STORE = 'bdg-dago';
const REF = /^[2-9A-HJKMNP-Z]{8}$/;

describe.each(DRIVERS)('store handover (%s)', (driver) => {
  const clock = offsetClock();
  const s = serviceFor(driver, { holdTtlSeconds: 60, clock });
  let service: string;
  let staff: string;
  let otherStaff: string;
  beforeAll(async () => {
    service = await s.token('service', 'room-server');
    staff = await s.token('staff', 'sari', STORE);
    otherStaff = await s.token('staff', 'eko', 'jkt-menteng');
  });

  const get = async (id: string, token = service) =>
    (await s.request('GET', `/settlements/${id}`, { token })).body;

  /** A paid order of three members, moved to ready_for_pickup: its ids and pickup code. */
  async function readyOrder(o: Parameters<typeof snapshot>[0] = {}) {
    const snap = snapshot({ storeId: STORE, ...o });
    for (const l of snap.lines) await setStock(s, STORE, l.sku, 50);
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
    });
    expect(r.status).toBe(201);
    for (const p of r.body.payments) {
      await s.request('POST', `/pay/${p.paymentId}`, { body: { action: 'authorize' } });
    }
    const paid = await until(async () => {
      const v = await get(r.body.id);
      return v.status === 'paid' && v;
    });
    for (const status of ['packed', 'ready_for_pickup']) {
      const m = await s.request('POST', `/orders/${paid.orderId}/status`, {
        token: staff,
        body: { status },
      });
      expect(m.status).toBe(200);
    }
    const v = await get(r.body.id);
    return { snap, settlementId: r.body.id as string, orderId: paid.orderId as string, view: v };
  }

  const complete = (orderId: string, body: Record<string, unknown>, token = staff) =>
    s.request('POST', `/orders/${orderId}/status`, {
      token,
      body: { status: 'completed', ...body },
    });

  it('one orderRef for shoppers and staff; staff see who collects, every note and the bags, never the code', async () => {
    const { snap, settlementId, orderId, view } = await readyOrder({
      members: [
        { id: 'ana', name: 'Ana' },
        { id: 'budi', name: 'Budi' },
        { id: 'citra', name: 'Citra' },
      ],
      collector: 'budi',
      lines: [
        { sku: 'CAM-0001', qty: 2, note: 'ripe ones, please' },
        { sku: 'MIN-0001', qty: 3, addedBy: 'budi', sharedWith: ['budi', 'citra'] },
      ],
    });
    // the shoppers' view (a member's token) and the room's status carry the same reference
    expect(view.orderRef).toMatch(REF);
    const member = await s.token('member', 'citra', snap.roomId);
    const mine = await get(settlementId, member);
    expect(mine).toMatchObject({ orderRef: view.orderRef, pickupCode: view.pickupCode });
    const [delivered] = await s.db.query<{ payload: { settlement: Record<string, unknown> } }>(
      `SELECT payload FROM outbox WHERE topic = 'settlement' AND room_id = $1 ORDER BY id DESC LIMIT 1`,
      [snap.roomId],
    );
    expect(delivered!.payload.settlement).toMatchObject({
      orderRef: view.orderRef,
      pickupCode: view.pickupCode,
      status: 'ready_for_pickup',
    });

    // staff: the list, the lookup by reference, and the settlement as staff see it
    const list = await s.request('GET', `/stores/${STORE}/orders`, { token: staff });
    const order = list.body.items.find((x: { id: string }) => x.id === orderId);
    const byRef = await s.request('GET', `/stores/${STORE}/orders/ref/${view.orderRef}`, {
      token: staff,
    });
    expect(byRef.status).toBe(200);
    for (const o of [order, byRef.body]) {
      expect(o).toMatchObject({
        id: orderId,
        orderRef: view.orderRef,
        collector: { memberId: 'budi', name: 'Budi' },
      });
      expect(o.pickupCode).toBeUndefined();
      expect(o.lines).toEqual([
        { sku: 'CAM-0001', name: expect.any(String), qty: 2, note: 'ripe ones, please' },
        { sku: 'MIN-0001', name: expect.any(String), qty: 3 },
      ]);
      // a shared line is divided as the split divides it: 3 units over Budi and Citra → 2 + 1
      expect(
        o.bags.map((b: { name: string; lines: { sku: string; qty: number }[] }) => [
          b.name,
          b.lines.map((l) => `${l.qty} ${l.sku}`),
        ]),
      ).toEqual([
        ['Ana', ['2 CAM-0001']],
        ['Budi', ['2 MIN-0001']],
        ['Citra', ['1 MIN-0001']],
      ]);
      expect(o.bags[0].lines[0].note).toBe('ripe ones, please');
      expect(o.bags[2].lines[0].sharedWith).toEqual(['Budi']);
    }
    expect(
      (
        await s.request('GET', `/stores/${STORE}/orders/ref/${view.orderRef}`, {
          token: otherStaff,
        })
      ).status,
    ).toBe(403);
    expect(
      (await s.request('GET', `/stores/${STORE}/orders/ref/ZZZZZZZZ`, { token: staff })).status,
    ).toBe(404);
    const asStaff = await get(settlementId, staff);
    expect(asStaff.orderRef).toBe(view.orderRef);
    expect(asStaff.pickupCode).toBeUndefined();
  });

  it('completing takes the pickup code: missing or wrong is 422, another store 403, the right one completes', async () => {
    const { orderId, settlementId, view } = await readyOrder();
    const code: string = view.pickupCode;
    const missing = await complete(orderId, {});
    expect(missing.status).toBe(422);
    expect(missing.body.error.code).toBe('pickup_code_mismatch');
    const wrongCode = code === '222222' ? '333333' : '222222';
    const wrong = await complete(orderId, { pickupCode: wrongCode });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error).toMatchObject({
      code: 'pickup_code_mismatch',
      details: { triesLeft: PICKUP_CODE_MAX_TRIES - 1 },
    });
    expect((await complete(orderId, { pickupCode: code }, otherStaff)).status).toBe(403);
    expect((await get(settlementId)).status).toBe('ready_for_pickup');
    // typed at the counter: lower case, a space, a dash
    const typed = `${code.slice(0, 3).toLowerCase()} -${code.slice(3)}`;
    const done = await complete(orderId, { pickupCode: typed });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'completed', orderRef: view.orderRef });
    expect((await get(settlementId)).status).toBe('completed');
  });

  it(`${PICKUP_CODE_MAX_TRIES} wrong codes in a row lock the order, even for the right code, until the lock ends`, async () => {
    const { orderId, settlementId, view } = await readyOrder();
    const code: string = view.pickupCode;
    const wrongCode = code === '222222' ? '333333' : '222222';
    for (let i = 1; i <= PICKUP_CODE_MAX_TRIES; i++) {
      const r = await complete(orderId, { pickupCode: wrongCode });
      expect(r.status).toBe(422);
      expect(r.body.error.details.triesLeft).toBe(PICKUP_CODE_MAX_TRIES - i);
    }
    const locked = await complete(orderId, { pickupCode: code });
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('pickup_code_locked');
    expect(locked.body.error.details.retryAfterSeconds).toBeGreaterThan(0);
    expect(locked.headers.get('retry-after')).toBe(
      String(locked.body.error.details.retryAfterSeconds),
    );
    expect((await get(settlementId)).status).toBe('ready_for_pickup');

    clock.advance(PICKUP_CODE_LOCK_MS + 1000);
    const done = await complete(orderId, { pickupCode: code });
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('completed');
  });

  it('guessing codes through the staff lookup is bounded per staff member and per store, then waits out the window', async () => {
    clock.advance(PICKUP_LOOKUP_WINDOW_MS + 1000); // no misses left over from earlier tests
    const { view } = await readyOrder();
    const code: string = view.pickupCode;
    const wrongCode = code === '222222' ? '333333' : '222222';
    const lookup = (c: string, token = staff) =>
      s.request('GET', `/stores/${STORE}/orders/pickup/${c}`, { token });
    expect((await lookup(code.toLowerCase())).status).toBe(200);
    for (let i = 0; i < PICKUP_LOOKUP_MAX_FAILURES_PER_STAFF; i++) {
      expect((await lookup(wrongCode)).status).toBe(404);
    }
    // past the limit even the right code is refused, with how long to wait
    const refused = await lookup(code);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    const wait = refused.body.error.details.retryAfterSeconds;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(PICKUP_LOOKUP_WINDOW_MS / 1000);
    expect(refused.headers.get('retry-after')).toBe(String(wait));

    // other staff of the store look up on, until the store's own limit
    const staffCount = Math.ceil(
      PICKUP_LOOKUP_MAX_FAILURES_PER_STORE / PICKUP_LOOKUP_MAX_FAILURES_PER_STAFF,
    );
    let misses = PICKUP_LOOKUP_MAX_FAILURES_PER_STAFF;
    for (let n = 1; n < staffCount; n++) {
      const other = await s.token('staff', `staff-${n}`, STORE);
      expect((await lookup(code, other)).status).toBe(200);
      for (let i = 0; i < PICKUP_LOOKUP_MAX_FAILURES_PER_STAFF; i++, misses++) {
        if (misses >= PICKUP_LOOKUP_MAX_FAILURES_PER_STORE) break;
        expect((await lookup(wrongCode, other)).status).toBe(404);
      }
    }
    const fresh = await s.token('staff', 'fresh', STORE);
    expect((await lookup(code, fresh)).status).toBe(429);
    // another store is not affected
    expect((await lookup(wrongCode, otherStaff)).status).not.toBe(429);

    clock.advance(PICKUP_LOOKUP_WINDOW_MS + 1000);
    expect((await lookup(code)).status).toBe(200);
    expect((await lookup(wrongCode)).status).toBe(404);
  });
});
