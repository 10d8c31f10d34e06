/**
 * An ended settlement's idempotency key never answers a new finalise (docs/contracts.md
 * "Between the room and settlement"): replaying the key of an expired or cancelled settlement is refused with
 * `409 settlement_ended` naming it (nothing held, nothing stored), while the key of a live
 * settlement still replays its first answer (a double tap gives one settlement).
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { DRIVERS } from './support/db.ts';
import {
  checkStockInvariants,
  setStock,
  snapshot,
  startTestService,
  until,
  type TestService,
} from './support/service.ts';

const STORE = 'jkt-menteng';

describe.each(DRIVERS)("an ended settlement's key (%s)", (driver) => {
  let s: TestService;
  let service: string;

  async function start(holdTtlSeconds: number) {
    s = await startTestService(driver, { holdTtlSeconds, workerPollMs: 50 });
    onTestFinished(() => s.stop());
    service = await s.token('service', 'room-server');
  }

  const create = (body: unknown, key: string) =>
    s.request('POST', '/settlements', {
      token: service,
      body,
      headers: { 'idempotency-key': key },
    });
  const stockOf = async (sku: string) =>
    (
      (await s.request('GET', `/stores/${STORE}/stock`)).body.items as {
        sku: string;
        held: number;
      }[]
    ).find((i) => i.sku === sku);
  const count = async (roomId: string) =>
    Number(
      (
        await s.db.query<{ n: number }>(
          'SELECT count(*) AS n FROM settlements WHERE room_id = $1',
          [roomId],
        )
      )[0]!.n,
    );

  it('a cancelled settlement: its key is refused, a new key makes a new settlement, stock held once', async () => {
    await start(60);
    await setStock(s, STORE, 'CAM-0011', 5);
    const snap = snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0011', qty: 2 }] });
    const key = `${snap.roomId}:${snap.cartVersion}`;
    const [a, tap] = await Promise.all([create(snap, key), create(snap, key)]);
    expect(a.status).toBe(201);
    expect(tap.body).toEqual(a.body); // a double tap: one settlement
    expect(await stockOf('CAM-0011')).toMatchObject({ held: 2 });
    const c = await s.request('POST', `/settlements/${a.body.id}/cancel`, {
      token: service,
      body: {},
    });
    expect(c.body.status).toBe('cancelled');
    expect(await stockOf('CAM-0011')).toMatchObject({ held: 0 });

    const replay = await create(snap, key);
    expect(replay.status).toBe(409);
    expect(replay.body.error).toMatchObject({
      code: 'settlement_ended',
      details: { settlementId: a.body.id, status: 'cancelled' },
    });
    expect(await stockOf('CAM-0011')).toMatchObject({ held: 0 });
    expect(await count(snap.roomId)).toBe(1);

    const b = await create(snap, `${key}:${a.body.id}`);
    expect(b.status).toBe(201);
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.body.status).toBe('awaiting_payment');
    expect((await create(snap, `${key}:${a.body.id}`)).body).toEqual(b.body);
    expect(await stockOf('CAM-0011')).toMatchObject({ held: 2 });
    expect(await count(snap.roomId)).toBe(2);
    await checkStockInvariants(s);
  });

  it('an expired settlement: its key is refused too', async () => {
    await start(0.5); // expires by the wall clock
    await setStock(s, STORE, 'CAM-0012', 5);
    const snap = snapshot({ storeId: STORE, lines: [{ sku: 'CAM-0012', qty: 1 }] });
    const key = `${snap.roomId}:${snap.cartVersion}`;
    const a = await create(snap, key);
    expect(a.status).toBe(201);
    await until(
      async () =>
        (await s.request('GET', `/settlements/${a.body.id}`, { token: service })).body.status ===
        'expired',
      10_000,
      'the hold to expire',
    );
    const replay = await create(snap, key);
    expect(replay.status).toBe(409);
    expect(replay.body.error).toMatchObject({
      code: 'settlement_ended',
      details: { settlementId: a.body.id, status: 'expired' },
    });
    expect(await stockOf('CAM-0012')).toMatchObject({ held: 0 });
    await checkStockInvariants(s);
  });
});
