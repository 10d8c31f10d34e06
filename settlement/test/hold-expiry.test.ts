/**
 * A hold expires by the wall clock: a 15-minute hold shortened to 300 ms is released by the
 * worker on its own, and every hold ends — none is forgotten.
 */
import { describe, expect, it } from 'vitest';
import { DRIVERS } from './support/db.ts';
import { checkStockInvariants, setStock, snapshot, serviceFor, until } from './support/service.ts';

describe.each(DRIVERS)('hold expiry by the worker (%s)', (driver) => {
  const s = serviceFor(driver, { holdTtlSeconds: 0.3, workerPollMs: 50 });

  it('releases expired holds without anyone asking', async () => {
    await setStock(s, 'sby-tunjungan', 'SEM-0003', 6);
    const service = await s.token('service', 'room-server');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const snap = snapshot({ storeId: 'sby-tunjungan', lines: [{ sku: 'SEM-0003', qty: 1 }] });
      const r = await s.request('POST', '/settlements', {
        token: service,
        body: snap,
        headers: { 'idempotency-key': snap.roomId },
      });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    await until(
      async () => {
        const rows = await s.db.query<{ n: number }>(
          `SELECT count(*) AS n FROM settlements WHERE id = ANY($1::text[]) AND status = 'expired'`,
          [ids],
        );
        return rows[0]?.n === 5;
      },
      10_000,
      'every settlement to expire',
    );
    const holds = await s.db.query<{ status: string; n: number }>(
      `SELECT status, count(*) AS n FROM holds WHERE settlement_id = ANY($1::text[]) GROUP BY status`,
      [ids],
    );
    expect(holds).toEqual([{ status: 'expired', n: 5 }]);
    const [row] = await s.db.query(
      `SELECT on_hand, held FROM stock WHERE store_id = 'sby-tunjungan' AND sku = 'SEM-0003'`,
    );
    expect(row).toEqual({ on_hand: 6, held: 0 });
    await checkStockInvariants(s);
  });
});
