/**
 * Acceptance: 200 simultaneous settlements against a store holding 50 units (each wants 1)
 * → exactly 50 succeed and 150 get 409; stock never goes below zero; the ledger balances.
 * Then: two workers sweeping the same database expire every hold exactly once.
 */
import { describe, expect, it } from 'vitest';
import { startSettlement } from '../src/server.ts';
import { DRIVERS } from './support/db.ts';
import {
  SECRET,
  checkStockInvariants,
  setStock,
  silent,
  snapshot,
  serviceFor,
  until,
} from './support/service.ts';

const STORE = 'yog-malioboro';
const SKU = 'RUM-0005';

describe.each(DRIVERS)('concurrent holds (%s)', (driver) => {
  const s = serviceFor(driver, { holdTtlSeconds: 600, worker: false });

  it('200 buyers, 50 units: exactly 50 holds, 150 refusals, never oversold', async () => {
    await setStock(s, STORE, SKU, 50);
    const service = await s.token('service', 'room-server');
    let sampling = true;
    const minimums: number[] = [];
    const sampler = (async () => {
      while (sampling) {
        const [r] = await s.db.query<{ a: number }>(
          'SELECT on_hand - held - committed AS a FROM stock WHERE store_id = $1 AND sku = $2',
          [STORE, SKU],
        );
        minimums.push(r!.a);
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const snap = snapshot({
          storeId: STORE,
          members: [{ id: `m${i}` }],
          lines: [{ sku: SKU, qty: 1 }],
        });
        return s.request('POST', '/settlements', {
          token: service,
          body: snap,
          headers: { 'idempotency-key': snap.roomId },
        });
      }),
    );
    sampling = false;
    await sampler;
    const by = (code: number) => results.filter((r) => r.status === code).length;
    expect({
      created: by(201),
      refused: by(409),
      other: results.length - by(201) - by(409),
    }).toEqual({
      created: 50,
      refused: 150,
      other: 0,
    });
    for (const r of results.filter((x) => x.status === 409)) {
      expect(r.body.error.details.short).toEqual([
        { sku: SKU, name: expect.any(String), wanted: 1, available: 0 },
      ]);
    }
    expect(Math.min(...minimums)).toBeGreaterThanOrEqual(0);
    const [row] = await s.db.query(
      'SELECT on_hand, held, committed FROM stock WHERE store_id = $1 AND sku = $2',
      [STORE, SKU],
    );
    expect(row).toEqual({ on_hand: 50, held: 50, committed: 0 });
    const [holds] = await s.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM holds WHERE store_id = $1 AND sku = $2 AND status = 'held'`,
      [STORE, SKU],
    );
    expect(holds!.n).toBe(50);
    await checkStockInvariants(s);
  });

  it('the CHECK constraint is the backstop: an unguarded oversell is refused by the database', async () => {
    await setStock(s, STORE, 'RUM-0006', 1);
    await expect(
      s.db.query(`UPDATE stock SET held = held + 2 WHERE store_id = $1 AND sku = 'RUM-0006'`, [
        STORE,
      ]),
    ).rejects.toThrow(/stock_never_oversold/);
  });
});

describe('several workers on one PostgreSQL', () => {
  const s = serviceFor('postgres', { holdTtlSeconds: 1, worker: false });

  it('expire every hold exactly once', async () => {
    await setStock(s, 'dps-renon', 'BUM-0001', 100);
    const service = await s.token('service', 'room-server');
    for (let i = 0; i < 40; i++) {
      const snap = snapshot({
        storeId: 'dps-renon',
        members: [{ id: 'a' }, { id: 'b' }],
        lines: [{ sku: 'BUM-0001', qty: 2 }],
      });
      const r = await s.request('POST', '/settlements', {
        token: service,
        body: snap,
        headers: { 'idempotency-key': snap.roomId },
      });
      expect(r.status).toBe(201);
    }
    const workers = await Promise.all(
      [1, 2, 3].map(() =>
        startSettlement({
          api: false,
          databaseUrl: s.tdb.url!,
          secret: SECRET,
          log: silent,
          workerPollMs: 20,
          roomServerUrl: null,
          seed: false,
          env: {},
        }),
      ),
    );
    try {
      await until(
        async () => {
          const [r] = await s.db.query<{ n: number }>(
            `SELECT count(*) AS n FROM settlements WHERE status = 'awaiting_payment'`,
          );
          return r?.n === 0;
        },
        15_000,
        'all settlements to expire',
      );
      await until(
        async () => {
          const [r] = await s.db.query<{ n: number }>(
            `SELECT count(*) AS n FROM payment_attempts WHERE status <> 'voided'`,
          );
          return r?.n === 0;
        },
        15_000,
        'all attempts voided',
      );
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    const [releases] = await s.db.query<{ n: number; q: number }>(
      `SELECT count(*) AS n, sum(d_held) AS q FROM stock_ledger WHERE reason = 'release' AND store_id = 'dps-renon'`,
    );
    expect(releases).toEqual({ n: 40, q: -80 });
    const events = await s.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM outbox WHERE topic = 'settlement' AND payload->'settlement'->>'status' = 'expired'`,
    );
    expect(events[0]!.n).toBe(40);
    await checkStockInvariants(s);
  });
});
