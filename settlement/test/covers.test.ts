/**
 * Issue 13 item 5: after someone covers a friend, the settlement keeps who covered whom and how
 * much (the covered payment itself), in its view and in the status it delivers to the room;
 * the budgets of a snapshot decide what each member is charged.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { roomStates } from '../src/outbox.ts';
import { DRIVERS } from './support/db.ts';
import { serviceFor, setStock, snapshot, until } from './support/service.ts';

const STORE = 'bdg-dago';

describe.each(DRIVERS)('covers and budgets (%s)', (driver) => {
  const s = serviceFor(driver, { holdTtlSeconds: 60 });
  let service: string;
  beforeAll(async () => {
    service = await s.token('service', 'room-server');
  });
  const create = (snap: ReturnType<typeof snapshot>) =>
    s.request('POST', '/settlements', {
      token: service,
      body: snap,
      headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
    });
  const get = async (id: string) =>
    (await s.request('GET', `/settlements/${id}`, { token: service })).body;
  const pay = (paymentId: string) =>
    s.request('POST', `/pay/${paymentId}`, { body: { action: 'authorize' } });

  it('records who covered whom, how much, in which currency, until the order completes', async () => {
    await setStock(s, STORE, 'CAM-0005', 5);
    const r = await create(snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0005', qty: 3 }] }));
    expect(r.status).toBe(201);
    const [ana, budi, citra] = r.body.payments;
    const budiToken = await s.token('member', 'budi', (await get(r.body.id)).roomId);
    const c = await s.request('POST', `/settlements/${r.body.id}/payments/citra/cover`, {
      token: budiToken,
      body: {},
    });
    expect(c.status).toBe(200);
    const record = {
      memberId: 'citra',
      coveredBy: 'budi',
      amount: citra.amount,
      currency: 'IDR',
    };
    expect((await get(r.body.id)).covers).toEqual([expect.objectContaining(record)]);
    // The room's status carries it too (what the outbox delivers).
    const [state] = await roomStates(s.db, [r.body.id]);
    expect(state?.state.covers).toEqual([expect.objectContaining(record)]);

    await pay(ana.paymentId);
    await pay(budi.paymentId);
    const done = await until(async () => {
      const v = await get(r.body.id);
      return v.status === 'paid' && v;
    });
    // Kept with the order once everyone has paid.
    expect(done.covers).toEqual([expect.objectContaining(record)]);
  });

  it('a cancelled settlement leaves no debt: nobody was charged', async () => {
    await setStock(s, STORE, 'CAM-0006', 5);
    const r = await create(snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0006', qty: 2 }] }));
    const budiToken = await s.token('member', 'budi', (await get(r.body.id)).roomId);
    await s.request('POST', `/settlements/${r.body.id}/payments/citra/cover`, {
      token: budiToken,
      body: {},
    });
    expect((await get(r.body.id)).covers).toHaveLength(1);
    const cancel = await s.request('POST', `/settlements/${r.body.id}/cancel`, {
      token: service,
      body: {},
    });
    expect(cancel.status).toBe(200);
    const v = await until(async () => {
      const x = await get(r.body.id);
      return x.status === 'cancelled' && x;
    });
    expect(v.covers).toBeUndefined();
  });

  it('charges each member their share after budgets, as the room showed it', async () => {
    await setStock(s, STORE, 'CAM-0007', 5);
    const base = snapshot({
      storeId: STORE,
      members: [{ id: 'ana' }, { id: 'budi' }],
      lines: [{ sku: 'CAM-0007', qty: 2 }],
    });
    const price = (await s.request('GET', '/products/CAM-0007')).body.price as number;
    const total = price * 2;
    const r = await create({ ...base, split: { mode: 'equal', budgets: { budi: 1 } } });
    expect(r.status).toBe(201);
    const byMember = Object.fromEntries(
      r.body.payments.map((p: { memberId: string; amount: number }) => [p.memberId, p.amount]),
    );
    // Budi's budget is 1 unit: Ana (no budget) carries the rest.
    expect(byMember).toEqual({ ana: total - 1, budi: 1 });
    // A budget that is not a positive integer is refused, with nothing held.
    const bad = await create({
      ...snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0007', qty: 1 }] }),
      split: { mode: 'equal', budgets: { budi: -5 } },
    });
    expect(bad.status).toBe(400);
  });
});
