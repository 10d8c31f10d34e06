/**
 * Seeded random group checkouts: members authorise, decline, cover, switch to paying at the
 * store, organisers cancel, holds run out — in random order. Whatever happened, afterwards:
 * every settlement ended (paid, expired or cancelled), nobody stays charged for a group that
 * did not complete, a paid group's payments add up to its total, and stock and ledger agree.
 */
import { describe, expect, it } from 'vitest';
import { offsetClock } from '../src/clock.ts';
import { prng } from '../src/seed.ts';
import { DRIVERS } from './support/db.ts';
import { checkStockInvariants, setStock, snapshot, serviceFor, until } from './support/service.ts';

const STORE = 'jkt-kelapa-gading';
const SKUS = ['SEM-0011', 'SEM-0012', 'CAM-0013'];

describe.each(DRIVERS)('random group checkouts keep the invariants (%s)', (driver) => {
  const clock = offsetClock();
  const s = serviceFor(driver, { holdTtlSeconds: 60, clock });

  it('after 24 random checkouts (seed 2024)', async () => {
    const rnd = prng(2024);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    for (const sku of SKUS) await setStock(s, STORE, sku, 12);
    const service = await s.token('service', 'room-server');
    const created: string[] = [];
    let refused = 0;
    for (let n = 0; n < 24; n++) {
      const members = ['ana', 'budi', 'citra', 'dewi']
        .slice(0, 1 + Math.floor(rnd() * 4))
        .map((id) => ({
          id,
          method: rnd() < 0.2 ? 'store' : 'local',
        }));
      const snap = snapshot({
        storeId: STORE,
        members,
        split: { mode: pick(['equal', 'items', 'organiser']) },
        lines: [
          { sku: pick(SKUS), qty: 1 + Math.floor(rnd() * 3), addedBy: pick(members).id },
          { sku: pick(SKUS), qty: 1, addedBy: pick(members).id },
        ],
      });
      const r = await s.request('POST', '/settlements', {
        token: service,
        body: snap,
        headers: { 'idempotency-key': snap.roomId },
      });
      if (r.status === 409) {
        refused++;
        continue;
      }
      expect(r.status).toBe(201);
      created.push(r.body.id);
      const tokens = Object.fromEntries(
        await Promise.all(
          members.map(async (m) => [m.id, await s.token('member', m.id, snap.roomId)] as const),
        ),
      );
      // a few random actions on this settlement
      for (let k = 0; k < 4; k++) {
        const v = (await s.request('GET', `/settlements/${r.body.id}`, { token: service })).body;
        if (v.status !== 'awaiting_payment' || v.payments.length === 0) break;
        const p = pick(v.payments as { memberId: string; paymentId: string; status: string }[]);
        const roll = rnd();
        if (roll < 0.45)
          await s.request('POST', `/pay/${p.paymentId}`, { body: { action: 'authorize' } });
        else if (roll < 0.65)
          await s.request('POST', `/pay/${p.paymentId}`, { body: { action: 'decline' } });
        else if (roll < 0.8) {
          const other = pick(members).id;
          await s.request('POST', `/settlements/${r.body.id}/payments/${p.memberId}/cover`, {
            token: tokens[other],
            body: {},
          });
        } else if (roll < 0.9) {
          await s.request('POST', `/settlements/${r.body.id}/payments/${p.memberId}/retry`, {
            token: tokens[p.memberId],
            body: { method: 'store' },
          });
        } else {
          await s.request('POST', `/settlements/${r.body.id}/cancel`, { token: service });
        }
      }
    }
    expect(created.length).toBeGreaterThan(5);
    // the rest runs out of time
    clock.advance(61_000);
    await until(
      async () => {
        await s.tick();
        const [open] = await s.db.query<{ n: number }>(
          `SELECT count(*) AS n FROM settlements WHERE status = 'awaiting_payment'`,
        );
        const [busy] = await s.db.query<{ n: number }>(
          `SELECT count(*) AS n FROM payment_attempts WHERE status IN ('creating', 'capturing', 'voiding', 'refunding')`,
        );
        return open?.n === 0 && busy?.n === 0;
      },
      20_000,
      'every settlement to end',
    );

    const settlements = await s.db.query<{ id: string; status: string; total: number }>(
      'SELECT id, status, total FROM settlements',
    );
    const statuses = new Set(settlements.map((x) => x.status));
    for (const st of statuses) expect(['paid', 'expired', 'cancelled']).toContain(st);
    for (const st of settlements) {
      const pays = await s.db.query<{ status: string; amount: number }>(
        'SELECT status, amount FROM payments WHERE settlement_id = $1',
        [st.id],
      );
      const attempts = await s.db.query<{ status: string }>(
        'SELECT status FROM payment_attempts WHERE settlement_id = $1',
        [st.id],
      );
      const holds = await s.db.query<{ status: string }>(
        'SELECT status FROM holds WHERE settlement_id = $1',
        [st.id],
      );
      if (st.status === 'paid') {
        for (const p of pays) expect(['captured', 'due_at_store', 'covered']).toContain(p.status);
        const owed = pays.filter((p) => p.status !== 'covered').reduce((a, p) => a + p.amount, 0);
        expect(owed).toBe(st.total);
        for (const h of holds) expect(h.status).toBe('committed');
        // exactly one captured attempt per paying member online
        expect(attempts.filter((a) => a.status === 'captured').length).toBe(
          pays.filter((p) => p.status === 'captured').length,
        );
      } else {
        // nobody stays charged, nothing stays authorised
        for (const p of pays) expect(['voided', 'refunded', 'covered']).toContain(p.status);
        for (const a of attempts) expect(['voided', 'refunded', 'declined']).toContain(a.status);
        for (const h of holds) expect(['expired', 'released']).toContain(h.status);
      }
    }
    expect(statuses.size + refused).toBeGreaterThan(1); // the seed exercises more than one ending
    await checkStockInvariants(s);
  });
});
