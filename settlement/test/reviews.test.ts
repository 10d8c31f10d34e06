/**
 * Verified-purchase reviews and a member's order history over HTTP, on PGlite and on
 * PostgreSQL (docs/contracts.md "Reviews", "Order history"): only a member of a completed
 * order that contained the sku may review it (403 otherwise), one review per member per sku
 * (a second replaces the first), average and count on the reviews and on the product JSON,
 * plain text of bounded length (400s), a per-member write limit (429), staff see their
 * store's reviews, and a member lists only their own orders.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DRIVERS } from './support/db.ts';
import { completeOrder, type CompletedOrder } from './support/orders.ts';
import { SECRET, serviceFor, snapshot } from './support/service.ts';

const STORE = 'sby-tunjungan';
const OTHER_STORE = 'jkt-menteng';
const SKU = 'CAM-0003';
const SKU2 = 'MIN-0004';
const NOT_BOUGHT = 'MIN-0005';
/** Review writes per member per minute: every attempt counts, refused ones too. */
const LIMIT = 20;

describe.each(DRIVERS)('reviews and order history (%s)', (driver) => {
  const s = serviceFor(driver, { reviewWritesPerMinute: LIMIT });
  let order: CompletedOrder;
  let paidOnly: CompletedOrder;
  const member = (sub: string, room = order.roomId, role: 'member' | 'organiser' = 'member') =>
    s.token(role, sub, room);
  const review = async (sku: string, token: string | undefined, body: unknown) =>
    s.request('POST', `/products/${sku}/reviews`, { ...(token ? { token } : {}), body });

  beforeAll(async () => {
    const at = { url: s.url, secret: SECRET };
    const members = [{ id: 'ana', name: 'Ana' }, { id: 'budi', name: 'Budi' }, { id: 'dewi' }];
    order = await completeOrder(
      at,
      snapshot({
        storeId: STORE,
        members,
        lines: [
          { sku: SKU, qty: 1 },
          { sku: SKU2, qty: 2, addedBy: 'budi' },
        ],
      }),
    );
    // the same group's second order, paid but not handed over yet
    paidOnly = await completeOrder(
      at,
      snapshot({ storeId: OTHER_STORE, members, lines: [{ sku: NOT_BOUGHT, qty: 1 }] }),
      'paid',
    );
  }, 60_000);

  it('only a member of a completed order that contained the sku may review it', async () => {
    expect((await review(SKU, undefined, { rating: 4 })).status).toBe(401);
    // citra was not in the order; ana for a sku the order did not contain; ana with another
    // room's token; ana for the sku of an order not completed yet
    for (const [sku, token] of [
      [SKU, await member('citra')],
      [NOT_BOUGHT, await member('ana')],
      [SKU, await member('ana', 'some-other-room')],
      [NOT_BOUGHT, await member('ana', paidOnly.roomId)],
    ] as const) {
      const r = await review(sku, token, { rating: 5 });
      expect(r.status, `${sku} ${token.slice(-8)}`).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
    }
    // staff and service tokens do not review
    expect((await review(SKU, await s.token('staff', 'sari', STORE), { rating: 5 })).status).toBe(
      403,
    );
    expect((await review(SKU, await s.token('service', 'web'), { rating: 5 })).status).toBe(403);
    expect((await review('NOPE-0000', await member('ana'), { rating: 5 })).status).toBe(404);
    const none = await s.request('GET', `/products/${SKU}/reviews`);
    expect(none.body).toEqual({ items: [], average: null, count: 0 });
  });

  it('one review per member per sku: a second replaces the first; average and count follow', async () => {
    const first = await review(SKU, await member('ana', order.roomId, 'organiser'), {
      rating: 4,
      text: '  Fresh and cheap  ',
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ sku: SKU, name: 'Ana', rating: 4, text: 'Fresh and cheap' });
    expect((await review(SKU, await member('budi'), { rating: 1 })).status).toBe(201);

    let list = await s.request('GET', `/products/${SKU}/reviews`);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ average: 2.5, count: 2 });
    expect(list.body.items.map((r: { name: string }) => r.name).sort()).toEqual(['Ana', 'Budi']);

    const again = await review(SKU, await member('ana'), { rating: 5 });
    expect(again.status).toBe(200);
    expect(again.body.text).toBeUndefined(); // replaced, not merged
    list = await s.request('GET', `/products/${SKU}/reviews`);
    expect(list.body).toMatchObject({ average: 3, count: 2 });
    expect(list.body.items[0]).toMatchObject({ name: 'Ana', rating: 5 }); // newest first

    // the product JSON carries the rating, alone and in lists
    expect((await s.request('GET', `/products/${SKU}`)).body.rating).toEqual({
      average: 3,
      count: 2,
    });
    const page = await s.request('GET', `/products?q=${SKU2.toLowerCase()}&size=100`);
    const other = (await s.request('GET', `/products/${SKU2}`)).body;
    expect(other.rating).toEqual({ average: null, count: 0 });
    const listed = (await s.request('GET', `/products?size=100&category=${other.category}`)).body;
    expect(listed.items.every((p: { rating?: unknown }) => p.rating !== undefined)).toBe(true);
    expect(page.status).toBe(200);
  });

  it('refuses bad ratings, long text and HTML with 400, and stores nothing', async () => {
    const token = await member('budi');
    for (const body of [
      {},
      { rating: 0 },
      { rating: 6 },
      { rating: 3.5 },
      { rating: '4' },
      { rating: 4, text: 'x'.repeat(1001) },
      { rating: 4, text: 'nice <script>alert(1)</script>' },
      { rating: 4, text: '<img src=x onerror=alert(1)>' },
      { rating: 4, text: 'a\u0000b' },
    ]) {
      const r = await review(SKU2, token, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
    }
    expect((await s.request('GET', `/products/${SKU2}/reviews`)).body.count).toBe(0);
    // a 1,000-character text and a lone "<" in prose are fine
    const ok = await review(SKU2, token, { rating: 3, text: `2 < 3 ${'y'.repeat(994)}` });
    expect(ok.status).toBe(201);
    expect(ok.body.text).toHaveLength(1000);
  });

  it('limits review writes per member (429 with Retry-After); others still write', async () => {
    const token = await member('dewi');
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < LIMIT + 2; i++) {
      last = await fetch(`${s.url}/products/${SKU}/reviews`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ rating: (i % 5) + 1 }),
      });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, LIMIT)).toEqual([201, ...Array<number>(LIMIT - 1).fill(200)]);
    expect(statuses.slice(LIMIT)).toEqual([429, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await last!.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    // the limit is dewi's own: ana still writes
    expect((await review(SKU2, await member('ana'), { rating: 4 })).status).toBe(201);
  });

  it("staff see their store's reviews, and only their store's", async () => {
    expect((await s.request('GET', `/stores/${STORE}/reviews`)).status).toBe(401);
    const other = await s.token('staff', 'eko', OTHER_STORE);
    expect((await s.request('GET', `/stores/${STORE}/reviews`, { token: other })).status).toBe(403);
    const r = await s.request('GET', `/stores/${STORE}/reviews`, {
      token: await s.token('staff', 'sari', STORE),
    });
    expect(r.status).toBe(200);
    const skus = r.body.items.map((i: { sku: string; name: string }) => `${i.sku}:${i.name}`);
    expect(skus.sort()).toEqual(
      [`${SKU2}:Ana`, `${SKU2}:Budi`, `${SKU}:Ana`, `${SKU}:Budi`, `${SKU}:dewi`].sort(),
    );
    expect(r.body.items[0]).toMatchObject({ orderId: order.orderId, roomId: order.roomId });
    expect(r.body.items[0].productName).toEqual(expect.any(String));
    const none = await s.request('GET', `/stores/${OTHER_STORE}/reviews`, { token: other });
    expect(none.body.items).toEqual([]);
  });

  it("a member's order history lists their own orders, with what they paid", async () => {
    const web = await s.token('service', 'web'); // room "*"
    const r = await s.request('GET', '/members/ana/orders', { token: web });
    expect(r.status).toBe(200);
    expect(r.body.items.map((o: { orderId: string }) => o.orderId)).toEqual([
      paidOnly.orderId,
      order.orderId,
    ]); // newest first
    const done = r.body.items[1];
    expect(done).toMatchObject({
      roomId: order.roomId,
      storeId: STORE,
      status: 'completed',
      currency: 'IDR',
      share: { method: 'local', status: 'captured' },
    });
    expect(done.storeName).not.toBe(STORE);
    expect(done.share.amount).toBeGreaterThan(0);
    expect(done.share.amount).toBeLessThan(done.total);
    expect(done.lines.map((l: { sku: string }) => l.sku).sort()).toEqual([SKU, SKU2].sort());
    expect(done.reviews).toEqual(
      expect.arrayContaining([
        { sku: SKU, rating: 5 },
        { sku: SKU2, rating: 4 },
      ]),
    );
    expect(r.body.items[0]).toMatchObject({ status: 'paid', storeId: OTHER_STORE, reviews: [] });

    // the member's own token (any room) reads theirs; nobody else's
    const own = await s.request('GET', '/members/ana/orders', { token: await member('ana') });
    expect(own.body.items).toHaveLength(2);
    expect(
      (await s.request('GET', '/members/ana/orders', { token: await member('budi') })).status,
    ).toBe(403);
    expect(
      (
        await s.request('GET', '/members/ana/orders', {
          token: await s.token('service', 'x', 'r1'),
        })
      ).status,
    ).toBe(403);
    expect((await s.request('GET', '/members/ana/orders')).status).toBe(401);
    const citra = await s.request('GET', '/members/citra/orders', { token: web });
    expect(citra.body.items).toEqual([]);
  });
});
