/**
 * docs/contracts.md "Payments window" (issue 11 item 7), against the local Stripe and Midtrans
 * stand-ins: a hold that runs out while a member is paying at a provider (a Midtrans virtual
 * account / QRIS issued, a Stripe payment in 3-D Secure) is extended once, to at most
 * HOLD_MAX_SECONDS after creation, and the room hears the new holdExpiresAt; otherwise it
 * expires as before. An expired or cancelled settlement tells the room who had not paid
 * (`unpaid`: member ids). The clock is moved, not waited for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offsetClock } from '../src/clock.ts';
import { DRIVERS } from './support/db.ts';
import { fakeMidtrans, type FakeMidtrans } from './support/fake-midtrans.ts';
import { fakeStripe, type FakeStripe } from './support/fake-stripe.ts';
import {
  checkStockInvariants,
  setStock,
  snapshot,
  startTestService,
  type TestService,
} from './support/service.ts';

const STORE = 'jkt-menteng';
const KEY = 'SB-Mid-server-window';
const TTL = 900;
const MAX = 1800;

describe.each(DRIVERS)('payments window (%s)', (driver) => {
  let stripe: FakeStripe;
  let mt: FakeMidtrans;
  let s: TestService;
  let service: string;
  const clock = offsetClock();

  beforeAll(async () => {
    stripe = await fakeStripe();
    mt = await fakeMidtrans(KEY);
    s = await startTestService(driver, {
      clock,
      worker: false,
      holdTtlSeconds: TTL,
      holdMaxSeconds: MAX,
      stripe: {
        secretKey: 'sk_test_window',
        host: '127.0.0.1',
        port: stripe.port,
        protocol: 'http',
      },
      midtrans: { serverKey: KEY, coreBaseUrl: mt.coreBaseUrl, snapBaseUrl: mt.snapBaseUrl },
    });
    service = await s.token('service', 'room-server');
    await setStock(s, STORE, 'MIN-0001', 100);
  });
  afterAll(async () => {
    await s?.stop();
    await stripe?.close();
    await mt?.close();
  });

  async function create(members: { id: string; name: string; method: string }[]) {
    const snap = snapshot({ storeId: STORE, members, lines: [{ sku: 'MIN-0001', qty: 2 }] });
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': snap.roomId },
    });
    expect(r.status).toBe(201);
    return {
      id: r.body.id as string,
      roomId: snap.roomId,
      created: Date.parse(r.body.holdExpiresAt) - TTL * 1000,
    };
  }
  const ref = async (settlementId: string, memberId: string) => {
    const [a] = await s.db.query<{ provider_ref: string }>(
      `SELECT a.provider_ref FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
       WHERE p.settlement_id = $1 AND p.member_id = $2 AND a.attempt = p.attempt`,
      [settlementId, memberId],
    );
    return a!.provider_ref;
  };
  /** The newest state the room was (or is about to be) sent. */
  const roomState = async (roomId: string) => {
    const [row] = await s.db.query<{ payload: { settlement: Record<string, unknown> } }>(
      `SELECT payload FROM outbox WHERE topic = 'settlement' AND room_id = $1 ORDER BY id DESC LIMIT 1`,
      [roomId],
    );
    return row!.payload.settlement;
  };
  /** Moves the clock to `seconds` after `created` and runs the worker once. */
  const at = async (created: number, seconds: number) => {
    clock.advance(created + seconds * 1000 - clock.now().getTime());
    await s.tick();
  };

  it('Stripe: a payment in 3-D Secure when the hold runs out extends it once, to HOLD_MAX_SECONDS', async () => {
    const st = await create([
      { id: 'ana', name: 'Ana', method: 'stripe' },
      { id: 'budi', name: 'Budi', method: 'local' },
    ]);
    const pi = stripe.intents.get(await ref(st.id, 'ana'))!;
    pi.status = 'requires_action'; // Ana is in her bank's 3-D Secure page
    await s.request(
      'POST',
      `/pay/${(await s.db.query<{ id: string }>(`SELECT id FROM payments WHERE settlement_id = $1 AND member_id = 'budi'`, [st.id]))[0]!.id}`,
      {
        body: { action: 'authorize' },
      },
    );

    await at(st.created, TTL + 1);
    let room = await roomState(st.roomId);
    expect(room.status).toBe('awaiting_payment');
    expect(Date.parse(room.holdExpiresAt as string)).toBe(st.created + MAX * 1000);
    expect(room.holdExtended).toBe(true);

    // still paying when the extended hold runs out: no second extension
    await at(st.created, MAX + 1);
    room = await roomState(st.roomId);
    expect(room.status).toBe('expired');
    expect(room.unpaid).toEqual(['ana']);
    expect(room.reason).toBe('The hold expired before Ana paid');
    await checkStockInvariants(s);
  });

  it('Stripe: nobody paying at the provider → the hold expires on time, naming who had not paid', async () => {
    const st = await create([
      { id: 'ana', name: 'Ana', method: 'stripe' },
      { id: 'budi', name: 'Budi', method: 'local' },
    ]);
    await at(st.created, TTL + 1);
    const room = await roomState(st.roomId);
    expect(room.status).toBe('expired');
    expect(room.holdExtended).toBeUndefined();
    expect(Date.parse(room.holdExpiresAt as string)).toBe(st.created + TTL * 1000);
    expect(room.unpaid).toEqual(['ana', 'budi']);
  });

  it('Midtrans: Snap offers QRIS, e-wallets and virtual accounts; an issued VA extends the hold', async () => {
    const idle = await create([{ id: 'citra', name: 'Citra', method: 'midtrans' }]);
    const paying = await create([{ id: 'dewi', name: 'Dewi', method: 'midtrans' }]);
    const tx = mt.transactions.get(await ref(paying.id, 'dewi'))!;
    expect(tx.body.enabled_payments).toEqual(
      expect.arrayContaining(['other_qris', 'gopay', 'shopeepay', 'bca_va', 'permata_va']),
    );
    // Dewi chose BCA virtual account on Snap: the transfer is pending at the bank
    mt.pay(await ref(paying.id, 'dewi'), 'pending', { paymentType: 'bank_transfer' });

    await at(paying.created, TTL + 1);
    expect((await roomState(idle.roomId)).status).toBe('expired');
    expect((await roomState(idle.roomId)).unpaid).toEqual(['citra']);
    const room = await roomState(paying.roomId);
    expect(room.status).toBe('awaiting_payment');
    expect(room.holdExtended).toBe(true);
    expect(Date.parse(room.holdExpiresAt as string)).toBe(paying.created + MAX * 1000);

    // the transfer lands within the extended window: the group is paid
    mt.pay(await ref(paying.id, 'dewi'), 'settlement');
    const n = mt.notification(await ref(paying.id, 'dewi'), KEY);
    const res = await fetch(`${s.url}/webhooks/midtrans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(n),
    });
    expect(res.status).toBe(200);
    await s.tick();
    expect((await roomState(paying.roomId)).status).toBe('paid');
    await checkStockInvariants(s);
  });

  it('a cancelled settlement names who had not paid', async () => {
    const st = await create([
      { id: 'ana', name: 'Ana', method: 'local' },
      { id: 'budi', name: 'Budi', method: 'local' },
    ]);
    const [p] = await s.db.query<{ id: string }>(
      `SELECT id FROM payments WHERE settlement_id = $1 AND member_id = 'ana'`,
      [st.id],
    );
    await s.request('POST', `/pay/${p!.id}`, { body: { action: 'authorize' } });
    const c = await s.request('POST', `/settlements/${st.id}/cancel`, { token: service, body: {} });
    expect(c.status).toBe(200);
    const room = await roomState(st.roomId);
    expect(room.status).toBe('cancelled');
    expect(room.unpaid).toEqual(['budi']);
  });
});
