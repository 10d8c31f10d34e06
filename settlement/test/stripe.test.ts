/**
 * Stripe through the official SDK against a local server that answers like the real API:
 * manual-capture PaymentIntents, stable idempotency keys, IDR converted at the edge,
 * verified and de-duplicated webhooks, and "nobody stays charged".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromStripeAmount, stripeExponent, toStripeAmount } from '../src/providers/stripe.ts';
import { DRIVERS } from './support/db.ts';
import { fakeStripe, sendStripeEvent, type FakeStripe } from './support/fake-stripe.ts';
import { checkStockInvariants, setStock, snapshot, serviceFor, until } from './support/service.ts';

const WHSEC = 'whsec_test_patungan';
const STORE = 'mdn-kesawan';

describe('Stripe amounts at the edge', () => {
  it('converts Patungan minor units to Stripe units and back', () => {
    expect(toStripeAmount({ amount: 15_000, currency: 'IDR' })).toBe(1_500_000);
    expect(fromStripeAmount(1_500_000, 'IDR')).toBe(15_000);
    expect(toStripeAmount({ amount: 1234, currency: 'USD' })).toBe(1234);
    expect(toStripeAmount({ amount: 500, currency: 'JPY' })).toBe(500);
    expect(stripeExponent('KRW')).toBe(0);
    expect(toStripeAmount({ amount: 1230, currency: 'KWD' })).toBe(1230);
    expect(() => toStripeAmount({ amount: 1235, currency: 'KWD' })).toThrow(/end in 0/);
  });
});

describe.each(DRIVERS)('Stripe provider (%s)', (driver) => {
  let stripe: FakeStripe;
  let service: string;

  beforeAll(async () => {
    stripe = await fakeStripe();
  });
  afterAll(async () => stripe?.close());
  const s = serviceFor(driver, () => ({
    holdTtlSeconds: 60,
    stripe: {
      secretKey: 'sk_test_123',
      webhookSecret: WHSEC,
      host: '127.0.0.1',
      port: stripe.port,
      protocol: 'http',
    },
  }));
  beforeAll(async () => {
    service = await s.token('service', 'room-server');
  });

  async function create(snap: ReturnType<typeof snapshot>) {
    return s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': snap.roomId },
    });
  }
  const get = async (id: string) =>
    (await s.request('GET', `/settlements/${id}`, { token: service })).body;
  const intentOf = async (settlementId: string, memberId: string) => {
    const [a] = await s.db.query<{ provider_ref: string }>(
      `SELECT a.provider_ref FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
       WHERE p.settlement_id = $1 AND p.member_id = $2 AND a.attempt = p.attempt`,
      [settlementId, memberId],
    );
    return stripe.intents.get(a!.provider_ref)!;
  };

  it('authorises with manual capture, captures only when everyone is covered, once', async () => {
    await setStock(s, STORE, 'SEM-0004', 10);
    const snap = snapshot({
      storeId: STORE,
      members: [
        { id: 'ana', method: 'stripe' },
        { id: 'budi', method: 'stripe' },
      ],
      lines: [{ sku: 'SEM-0004', qty: 3 }],
    });
    const r = await create(snap);
    expect(r.status).toBe(201);
    const creates = stripe.requests.filter(
      (q) => q.method === 'POST' && q.path === '/v1/payment_intents',
    );
    const mine = creates.filter((q) => q.body.includes(encodeURIComponent(r.body.id)));
    expect(mine).toHaveLength(2);
    expect(mine.map((q) => q.headers['idempotency-key']).sort()).toEqual([
      `${r.body.id}:ana:1:create`,
      `${r.body.id}:budi:1:create`,
    ]);
    const ana = await intentOf(r.body.id, 'ana');
    expect(ana).toMatchObject({
      capture_method: 'manual',
      currency: 'idr',
      amount: r.body.payments[0].amount * 100,
    });
    expect(ana.metadata).toMatchObject({
      room_id: snap.roomId,
      settlement_id: r.body.id,
      member_id: 'ana',
    });
    expect(r.body.payments[0].payUrl).toBe(`${s.url}/pay/${r.body.payments[0].paymentId}`);

    // replaying the request creates nothing new
    expect((await create(snap)).body).toEqual(r.body);
    expect(stripe.ops.filter((o) => o.op === 'create' && o.id === ana.id)).toHaveLength(1);

    stripe.authorize(ana.id);
    const ev = await sendStripeEvent(s.url, WHSEC, 'payment_intent.amount_capturable_updated', ana);
    expect(ev).toMatchObject({ status: 200, body: { received: true, duplicate: false } });
    expect((await get(r.body.id)).payments[0].status).toBe('authorized');
    expect(stripe.ops.filter((o) => o.op === 'capture')).toHaveLength(0); // budi has not paid yet

    const budi = await intentOf(r.body.id, 'budi');
    stripe.authorize(budi.id);
    const evId = 'evt_budi_auth';
    await sendStripeEvent(s.url, WHSEC, 'payment_intent.amount_capturable_updated', budi, {
      id: evId,
    });
    const v = await until(async () => {
      const x = await get(r.body.id);
      return x.status === 'paid' && x;
    });
    expect(v.payments.map((p: { status: string }) => p.status)).toEqual(['captured', 'captured']);
    expect(
      stripe.ops
        .filter((o) => o.op === 'capture')
        .map((o) => o.id)
        .sort(),
    ).toEqual([ana.id, budi.id].sort());

    // duplicate and out-of-order events change nothing
    expect(
      (
        await sendStripeEvent(s.url, WHSEC, 'payment_intent.amount_capturable_updated', budi, {
          id: evId,
        })
      ).body.duplicate,
    ).toBe(true);
    await sendStripeEvent(s.url, WHSEC, 'payment_intent.payment_failed', {
      ...budi,
      status: 'requires_payment_method',
    });
    await sendStripeEvent(s.url, WHSEC, 'payment_intent.amount_capturable_updated', {
      ...ana,
      status: 'requires_capture',
    });
    await s.tick();
    expect((await get(r.body.id)).payments.map((p: { status: string }) => p.status)).toEqual([
      'captured',
      'captured',
    ]);
    expect(stripe.ops.filter((o) => o.op === 'capture')).toHaveLength(2);
    await checkStockInvariants(s);
  });

  it('refuses a bad signature and changes nothing', async () => {
    await setStock(s, STORE, 'SEM-0005', 10);
    const r = await create(
      snapshot({
        storeId: STORE,
        members: [{ id: 'ana', method: 'stripe' }],
        lines: [{ sku: 'SEM-0005', qty: 1 }],
      }),
    );
    const pi = await intentOf(r.body.id, 'ana');
    stripe.authorize(pi.id);
    const bad = await sendStripeEvent(
      s.url,
      WHSEC,
      'payment_intent.amount_capturable_updated',
      pi,
      { badSignature: true },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_signature');
    const unsigned = await fetch(`${s.url}/webhooks/stripe`, { method: 'POST', body: '{}' });
    expect(unsigned.status).toBe(400);
    expect((await get(r.body.id)).payments[0].status).toBe('pending');
  });

  it('a declined card leaves the share open; retrying with another method voids the old intent', async () => {
    await setStock(s, STORE, 'SEM-0006', 10);
    const r = await create(
      snapshot({
        storeId: STORE,
        members: [{ id: 'ana' }, { id: 'budi', method: 'stripe' }],
        lines: [{ sku: 'SEM-0006', qty: 2 }],
      }),
    );
    const pi = await intentOf(r.body.id, 'budi');
    stripe.fail(pi.id);
    await sendStripeEvent(s.url, WHSEC, 'payment_intent.payment_failed', pi);
    expect((await get(r.body.id)).payments[1].status).toBe('declined');
    const budi = await s.token('member', 'budi', (await get(r.body.id)).roomId);
    const retry = await s.request('POST', `/settlements/${r.body.id}/payments/budi/retry`, {
      token: budi,
      body: { method: 'local' },
    });
    expect(retry.body).toMatchObject({ status: 'pending', method: 'local', attempt: 2 });
    await until(async () => stripe.intents.get(pi.id)!.status === 'canceled');
    // the group completes on the new attempt
    for (const p of r.body.payments)
      await s.request('POST', `/pay/${p.paymentId}`, { body: { action: 'authorize' } });
    await until(async () => (await get(r.body.id)).status === 'paid');
  });

  it('an expired group cancels every authorisation; nobody stays charged', async () => {
    await setStock(s, STORE, 'SEM-0007', 10);
    const r = await create(
      snapshot({
        storeId: STORE,
        members: [
          { id: 'ana', method: 'stripe' },
          { id: 'budi', method: 'stripe' },
          { id: 'citra' },
        ],
        lines: [{ sku: 'SEM-0007', qty: 3 }],
      }),
    );
    const ana = await intentOf(r.body.id, 'ana');
    stripe.authorize(ana.id);
    await sendStripeEvent(s.url, WHSEC, 'payment_intent.amount_capturable_updated', ana);
    const budi = await intentOf(r.body.id, 'budi');
    // expire it now
    await s.db.query(
      `UPDATE settlements SET hold_expires_at = now() - interval '1 second' WHERE id = $1`,
      [r.body.id],
    );
    s.ctx.kick();
    await until(async () => (await get(r.body.id)).status === 'expired');
    await until(
      async () =>
        stripe.intents.get(ana.id)!.status === 'canceled' &&
        stripe.intents.get(budi.id)!.status === 'canceled',
    );
    expect(
      stripe.ops.filter((o) => o.op === 'capture' && (o.id === ana.id || o.id === budi.id)),
    ).toHaveLength(0);
    await checkStockInvariants(s);
  });

  it('survives a flaky Stripe: creation is retried with the same key, nothing twice', async () => {
    await setStock(s, STORE, 'SEM-0008', 10);
    stripe.breakNext(4); // the SDK retries once per call, so two calls fail
    const r = await create(
      snapshot({
        storeId: STORE,
        members: [{ id: 'ana', method: 'stripe' }],
        lines: [{ sku: 'SEM-0008', qty: 1 }],
      }),
    );
    expect(r.status).toBe(201);
    const payUrl = await until(async () => (await get(r.body.id)).payments[0].payUrl);
    expect(payUrl).toContain('/pay/');
    const created = stripe.ops.filter(
      (o) => o.op === 'create' && stripe.intents.get(o.id)!.metadata.settlement_id === r.body.id,
    );
    expect(created).toHaveLength(1);
  });
});
