/**
 * Acceptance: 200 simultaneous settlements against a store holding 50 units (each wants 1)
 * → exactly 50 succeed and 150 get 409; stock never goes below zero; the ledger balances.
 * Then: two workers sweeping the same database expire every hold exactly once, and so do
 * parallel expiry sweeps (a mass expiry) claiming small batches of holds on shared stock rows.
 */
import { describe, expect, it } from 'vitest';
import { startSettlement } from '../src/server.ts';
import { expireAll } from '../src/worker.ts';
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

  it('parallel expiry sweeps release every hold once, stock sums right', async () => {
    // two hot skus every settlement shares (the sweeps contend for their rows) and one of its own
    await setStock(s, 'dps-renon', 'BUM-0002', 200);
    await setStock(s, 'dps-renon', 'BUM-0003', 200);
    for (const k of [4, 5, 6, 7]) await setStock(s, 'dps-renon', `BUM-000${k}`, 100);
    const service = await s.token('service', 'room-server');
    const ids: string[] = [];
    for (let i = 0; i < 48; i++) {
      const own = `BUM-000${4 + (i % 4)}`;
      const snap = snapshot({
        storeId: 'dps-renon',
        members: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
        lines: [
          { sku: 'BUM-0002', qty: 1 },
          { sku: 'BUM-0003', qty: 2 },
          { sku: own, qty: 1 },
        ],
      });
      const r = await s.request('POST', '/settlements', {
        token: service,
        body: snap,
        headers: { 'idempotency-key': snap.roomId },
      });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    await s.db.query(
      `UPDATE settlements SET hold_expires_at = now() - interval '1 second' WHERE id = ANY($1::text[])`,
      [ids],
    );
    // two workers at once, each running 3 sweeps of 5 settlements a batch
    const counts = await Promise.all([1, 2].map(() => expireAll(s.ctx, { batch: 5, sweeps: 3 })));
    expect(counts[0]! + counts[1]!).toBe(48);
    const [st] = await s.db.query<{ expired: number }>(
      `SELECT count(*) FILTER (WHERE status = 'expired') AS expired FROM settlements WHERE id = ANY($1::text[])`,
      [ids],
    );
    expect(st!.expired).toBe(48);
    const released = await s.db.query<{ sku: string; n: number; q: number }>(
      `SELECT sku, count(*) AS n, sum(d_held) AS q FROM stock_ledger
       WHERE reason = 'release' AND ref = ANY($1::text[]) GROUP BY sku ORDER BY sku`,
      [ids],
    );
    expect(released).toEqual([
      { sku: 'BUM-0002', n: 48, q: -48 },
      { sku: 'BUM-0003', n: 48, q: -96 },
      ...[4, 5, 6, 7].map((k) => ({ sku: `BUM-000${k}`, n: 12, q: -12 })),
    ]);
    const stock = await s.db.query<{ sku: string; held: number }>(
      `SELECT sku, held FROM stock WHERE store_id = 'dps-renon' AND sku = ANY($1::text[]) ORDER BY sku`,
      [['BUM-0002', 'BUM-0003', 'BUM-0004', 'BUM-0005', 'BUM-0006', 'BUM-0007']],
    );
    expect(stock.every((r) => r.held === 0)).toBe(true);
    const [holds] = await s.db.query<{ expired: number; other: number }>(
      `SELECT count(*) FILTER (WHERE status = 'expired') AS expired,
         count(*) FILTER (WHERE status <> 'expired') AS other
       FROM holds WHERE settlement_id = ANY($1::text[])`,
      [ids],
    );
    expect(holds).toEqual({ expired: 144, other: 0 });
    // every share voided; a local attempt has nothing to call a provider about: voided at once,
    // no `voiding` left for the worker (decision 0022)
    const shares = await s.db.query<{ payment: string; attempt: string; n: number }>(
      `SELECT p.status AS payment, a.status AS attempt, count(*) AS n
       FROM payments p JOIN payment_attempts a ON a.payment_id = p.id
       WHERE p.settlement_id = ANY($1::text[]) GROUP BY 1, 2`,
      [ids],
    );
    expect(shares).toEqual([{ payment: 'voided', attempt: 'voided', n: 144 }]);
    // one room event and one web event per settlement, naming who had not paid
    const events = await s.db.query<{ topic: string; n: number; unpaid: number }>(
      `SELECT topic, count(*) AS n,
         count(*) FILTER (WHERE payload->'settlement'->'unpaid' = '["a", "b", "c"]'::jsonb) AS unpaid
       FROM outbox WHERE topic IN ('settlement', 'web')
         AND payload->'settlement'->>'id' = ANY($1::text[])
         AND payload->'settlement'->>'status' = 'expired'
       GROUP BY topic ORDER BY topic`,
      [ids],
    );
    expect(events).toEqual([
      { topic: 'settlement', n: 48, unpaid: 48 },
      { topic: 'web', n: 48, unpaid: 48 },
    ]);
    await checkStockInvariants(s);
  });
});
