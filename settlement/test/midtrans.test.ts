/**
 * Midtrans through midtrans-client against a local server that answers like Snap and the
 * Core API: one Snap transaction per member share, notifications verified with the SHA-512
 * signature and confirmed with a status call, fraud other than accept never counts as paid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapMidtransStatus, midtransSignature } from '../src/providers/midtrans.ts';
import { DRIVERS } from './support/db.ts';
import { fakeMidtrans, type FakeMidtrans } from './support/fake-midtrans.ts';
import { checkStockInvariants, setStock, snapshot, serviceFor, until } from './support/service.ts';

const KEY = 'SB-Mid-server-test-key';
const STORE = 'mks-losari';

describe('Midtrans status mapping and signature', () => {
  it('maps statuses, treating fraud other than accept as not paid', () => {
    expect(mapMidtransStatus({ transaction_status: 'settlement' })).toBe('captured');
    expect(mapMidtransStatus({ transaction_status: 'capture', fraud_status: 'accept' })).toBe(
      'captured',
    );
    expect(mapMidtransStatus({ transaction_status: 'capture', fraud_status: 'challenge' })).toBe(
      'pending',
    );
    expect(mapMidtransStatus({ transaction_status: 'capture', fraud_status: 'deny' })).toBe(
      'declined',
    );
    expect(mapMidtransStatus({ transaction_status: 'authorize', fraud_status: 'accept' })).toBe(
      'authorized',
    );
    expect(mapMidtransStatus({ transaction_status: 'pending' })).toBe('pending');
    expect(mapMidtransStatus({ transaction_status: 'deny' })).toBe('declined');
    expect(mapMidtransStatus({ transaction_status: 'cancel' })).toBe('voided');
    expect(mapMidtransStatus({ transaction_status: 'expire' })).toBe('voided');
    expect(mapMidtransStatus({ transaction_status: 'refund' })).toBe('refunded');
  });
  it('computes signature_key as SHA-512(order_id + status_code + gross_amount + server key)', () => {
    // a known vector, computed independently (sha512sum of "o1" "200" "10000.00" "k")
    expect(
      midtransSignature({ order_id: 'o1', status_code: '200', gross_amount: '10000.00' }, 'k'),
    ).toBe(
      'aceb44c53b071fc8ea2da0af1e43f2fd42c56db2acec67ad2fd74d913506920e478551e1460034a9cc1e324fa760fbd8d9635fcc521a98590cc87ae95258ad51',
    );
  });
});

describe.each(DRIVERS)('Midtrans provider (%s)', (driver) => {
  let mt: FakeMidtrans;
  let service: string;

  beforeAll(async () => {
    mt = await fakeMidtrans(KEY);
  });
  afterAll(async () => mt?.close());
  const s = serviceFor(driver, () => ({
    holdTtlSeconds: 60,
    midtrans: {
      serverKey: KEY,
      clientKey: 'SB-client',
      coreBaseUrl: mt.coreBaseUrl,
      snapBaseUrl: mt.snapBaseUrl,
    },
  }));
  beforeAll(async () => {
    service = await s.token('service', 'room-server');
  });

  const create = (snap: ReturnType<typeof snapshot>) =>
    s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': snap.roomId },
    });
  const get = async (id: string) =>
    (await s.request('GET', `/settlements/${id}`, { token: service })).body;
  const orderOf = async (settlementId: string, memberId: string) => {
    const [a] = await s.db.query<{ provider_ref: string }>(
      `SELECT a.provider_ref FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
       WHERE p.settlement_id = $1 AND p.member_id = $2 AND a.attempt = p.attempt`,
      [settlementId, memberId],
    );
    return a!.provider_ref;
  };
  /** A settlement of one unit of `sku` (5 in stock) where only ana pays, by Midtrans; her order. */
  const anaAlone = async (sku: string) => {
    await setStock(s, STORE, sku, 5);
    const r = await create(
      snapshot({
        storeId: STORE,
        members: [{ id: 'ana', method: 'midtrans' }],
        lines: [{ sku, qty: 1 }],
      }),
    );
    return { r, order: await orderOf(r.body.id, 'ana') };
  };
  const notify = async (body: unknown) => {
    const res = await fetch(`${s.url}/webhooks/midtrans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };

  it('creates one Snap transaction per share; a VA settlement and a card capture make the group paid', async () => {
    await setStock(s, STORE, 'BAY-0001', 5);
    const r = await create(
      snapshot({
        storeId: STORE,
        members: [
          { id: 'ana', method: 'midtrans' },
          { id: 'budi', method: 'midtrans' },
        ],
        lines: [{ sku: 'BAY-0001', qty: 3 }],
      }),
    );
    expect(r.status).toBe(201);
    const anaOrder = await orderOf(r.body.id, 'ana');
    const tx = mt.transactions.get(anaOrder)!;
    expect(anaOrder.length).toBeLessThanOrEqual(50);
    expect(tx.gross_amount).toBe(r.body.payments[0].amount);
    expect(
      tx.body.item_details.reduce(
        (a: number, i: { price: number; quantity: number }) => a + i.price * i.quantity,
        0,
      ),
    ).toBe(tx.gross_amount);
    expect(tx.expiry).toMatchObject({ unit: 'minute', duration: 1 });
    expect(tx.body.credit_card).toEqual({ secure: true, type: 'authorize' });
    expect(r.body.payments[0].payUrl).toMatch(
      /^https:\/\/app\.sandbox\.midtrans\.com\/snap\/v4\/redirection\//,
    );

    mt.pay(anaOrder, 'settlement');
    const n = mt.notification(anaOrder, KEY);
    expect((await notify(n)).body).toMatchObject({ received: true, duplicate: false });
    expect((await notify(n)).body.duplicate).toBe(true);
    expect((await get(r.body.id)).payments[0].status).toBe('captured');

    const budiOrder = await orderOf(r.body.id, 'budi');
    mt.pay(budiOrder, 'authorize');
    await notify(mt.notification(budiOrder, KEY));
    const v = await until(async () => {
      const x = await get(r.body.id);
      return x.status === 'paid' && x;
    });
    expect(v.payments.map((p: { status: string }) => p.status)).toEqual(['captured', 'captured']);
    expect(mt.ops.filter((o) => o.op === 'capture').map((o) => o.orderId)).toEqual([budiOrder]);
    await checkStockInvariants(s);
  });

  it('rejects a bad signature or malformed body with 400 and changes nothing', async () => {
    const { r, order } = await anaAlone('BAY-0002');
    mt.pay(order, 'settlement');
    const bad = await notify(mt.notification(order, KEY, { badSignature: true }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_signature');
    expect((await notify({ order_id: order })).status).toBe(400);
    expect((await get(r.body.id)).payments[0].status).toBe('pending');
  });

  it('a card flagged for fraud review is not counted as paid', async () => {
    const { r, order } = await anaAlone('BAY-0003');
    mt.pay(order, 'capture', { fraud: 'challenge' });
    await notify(mt.notification(order, KEY));
    expect((await get(r.body.id)).payments[0].status).toBe('pending');
    mt.pay(order, 'deny', { fraud: 'deny' });
    await notify(mt.notification(order, KEY));
    expect((await get(r.body.id)).payments[0].status).toBe('declined');
  });

  it('when the group does not complete, a settled payment is refunded and the rest voided', async () => {
    await setStock(s, STORE, 'BAY-0004', 5);
    const r = await create(
      snapshot({
        storeId: STORE,
        members: [
          { id: 'ana', method: 'midtrans' },
          { id: 'budi', method: 'midtrans' },
          { id: 'citra', method: 'midtrans' },
        ],
        lines: [{ sku: 'BAY-0004', qty: 3 }],
      }),
    );
    const [ana, budi, citra] = await Promise.all(
      ['ana', 'budi', 'citra'].map((m) => orderOf(r.body.id, m)),
    );
    mt.pay(ana!, 'settlement');
    await notify(mt.notification(ana!, KEY));
    mt.pay(budi!, 'authorize');
    await notify(mt.notification(budi!, KEY));
    mt.pay(citra!, 'pending');
    await notify(mt.notification(citra!, KEY));
    // the hold runs out after its one extension (Citra's transfer is still pending)
    await s.db.query(
      `UPDATE settlements SET hold_expires_at = now() - interval '1 second', hold_extended_at = now()
       WHERE id = $1`,
      [r.body.id],
    );
    s.ctx.kick();
    const v = await until(async () => {
      const x = await get(r.body.id);
      return x.status === 'expired' && x.payments[0].status === 'refunded' && x;
    });
    expect(v.payments.map((p: { status: string }) => p.status)).toEqual([
      'refunded',
      'voided',
      'voided',
    ]);
    await until(
      async () =>
        mt.transactions.get(budi!)!.transaction_status === 'cancel' &&
        mt.transactions.get(citra!)!.transaction_status === 'expire',
    );
    expect(
      mt.ops
        .filter((o) => [ana, budi, citra].includes(o.orderId) && o.op !== 'create')
        .map((o) => `${o.op}`)
        .sort(),
    ).toEqual(['cancel', 'expire', 'refund']);
    await checkStockInvariants(s);
  });

  it('refuses Midtrans for a currency other than rupiah', async () => {
    const r = await create(
      snapshot({ currency: 'USD', members: [{ id: 'ana', method: 'midtrans' }] }),
    );
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('method_unavailable');
  });
});
