/**
 * Store staff and members' payments: staff of the pickup store see what the handover needs
 * (the settlement's status, lines, order and pickup code, who owes what at the counter) but
 * never a pay link or a payment id — with those anyone can authorise or decline a member's
 * share on the pay page — and may not retry, cover or pay a share.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setStock, snapshot, startTestService, type TestService } from './support/service.ts';

const STORE = 'jkt-menteng';

describe('what store staff may see and do with a settlement', () => {
  let s: TestService;
  let service: string;
  let staff: string;
  let created: {
    id: string;
    payments: { memberId: string; paymentId: string; payUrl?: string }[];
  };
  let roomId: string;

  beforeAll(async () => {
    s = await startTestService('pglite', { holdTtlSeconds: 120 });
    service = await s.token('service', 'room-server');
    staff = await s.token('staff', 'staff-1', STORE);
    await setStock(s, STORE, 'MIN-0001', 50);
    const snap = snapshot({ storeId: STORE, lines: [{ sku: 'MIN-0001', qty: 3 }] });
    roomId = snap.roomId;
    const r = await s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
    });
    expect(r.status).toBe(201);
    created = r.body;
  });
  afterAll(async () => s?.stop());

  const secrets = () => created.payments.flatMap((p) => [p.paymentId, p.payUrl ?? p.paymentId]);

  it('staff of the store read the settlement without pay links or payment ids', async () => {
    const r = await s.request('GET', `/settlements/${created.id}`, { token: staff });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: created.id, status: 'awaiting_payment', storeId: STORE });
    expect(r.body.lines).toEqual([expect.objectContaining({ sku: 'MIN-0001', qty: 3 })]);
    expect(r.body.payments).toHaveLength(3);
    for (const p of r.body.payments) {
      expect(p).toEqual(
        expect.objectContaining({ memberId: expect.any(String), status: 'pending' }),
      );
      expect(p).not.toHaveProperty('paymentId');
      expect(p).not.toHaveProperty('payUrl');
    }
    const text = JSON.stringify(r.body);
    for (const secret of secrets()) expect(text).not.toContain(secret);
  });

  it('members of the room still get their pay links', async () => {
    const member = await s.token('member', 'budi', roomId);
    const r = await s.request('GET', `/settlements/${created.id}`, { token: member });
    expect(r.status).toBe(200);
    expect(r.body.payments.map((p: { paymentId: string }) => p.paymentId)).toEqual(
      created.payments.map((p) => p.paymentId),
    );
  });

  it('staff of another store are refused', async () => {
    const other = await s.token('staff', 'staff-2', 'bdg-dago');
    expect((await s.request('GET', `/settlements/${created.id}`, { token: other })).status).toBe(
      403,
    );
  });

  it('staff may not retry, cover or cancel a share or a settlement', async () => {
    const budi = created.payments.find((p) => p.memberId === 'budi')!;
    const answers = [
      await s.request('POST', `/settlements/${created.id}/payments/budi/retry`, {
        token: staff,
        body: { method: 'store' },
      }),
      await s.request('POST', `/settlements/${created.id}/payments/budi/cover`, {
        token: staff,
        body: {},
      }),
      await s.request('POST', `/settlements/${created.id}/cancel`, { token: staff, body: {} }),
    ].map((r) => r.status);
    expect(answers).toEqual([403, 403, 403]);
    const v = await s.request('GET', `/settlements/${created.id}`, { token: service });
    expect(v.body.status).toBe('awaiting_payment');
    expect(v.body.payments.find((p: { memberId: string }) => p.memberId === 'budi')).toMatchObject({
      paymentId: budi.paymentId,
      status: 'pending',
    });
  });

  it('the store order list names no payment either', async () => {
    const r = await s.request('GET', `/stores/${STORE}/orders`, { token: staff });
    expect(r.status).toBe(200);
    const text = JSON.stringify(r.body);
    for (const secret of secrets()) expect(text).not.toContain(secret);
  });
});
