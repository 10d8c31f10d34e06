/**
 * Order fulfilment, after the payment saga is done: a settlement that reaches `paid` gets an
 * order, which the store's staff move paid → packed → ready_for_pickup (a pickup code) →
 * completed (handed over: the committed units leave the store as a sale, shares owed at the
 * store count as paid at the counter). Separate from the payment state machine
 * (transitions.ts), which only opens the order and cancels it with its settlement.
 */
import type { Queryable } from '@patungan/db';
import type { Ctx } from '../context.ts';
import { invalidState } from '../errors.ts';
import { pickupCode, shortId } from '../ids.ts';
import { enqueueSettlementEvent } from '../outbox.ts';
import { moveHolds } from '../stock.ts';
import { lockSettlement, setSettlement, type SettlementRow } from './rows.ts';

type Lite = Pick<Ctx, 'log' | 'metrics'>;

/** The group paid: the store gets an order to pack (once per settlement). */
export async function openOrder(
  tx: Queryable,
  s: Pick<SettlementRow, 'id' | 'store_id' | 'room_id'>,
  now: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO orders (id, settlement_id, store_id, room_id, status, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'paid', $5, $5) ON CONFLICT (settlement_id) DO NOTHING`,
    [shortId('ord'), s.id, s.store_id, s.room_id, now],
  );
}

/** The settlement was cancelled: so is its order, if it had one. */
export async function cancelOrder(tx: Queryable, settlementId: string, now: Date): Promise<void> {
  await tx.query(
    `UPDATE orders SET status = 'cancelled', updated_at = $2 WHERE settlement_id = $1`,
    [settlementId, now],
  );
}

const ORDER_NEXT: Record<string, string> = {
  paid: 'packed',
  packed: 'ready_for_pickup',
  ready_for_pickup: 'completed',
};

/** Staff moves an order along: paid → packed → ready_for_pickup (pickup code) → completed (sold). */
export async function moveOrder(
  ctx: Lite,
  tx: Queryable,
  settlementId: string,
  to: 'packed' | 'ready_for_pickup' | 'completed',
  now: Date,
): Promise<SettlementRow> {
  const s = await lockSettlement(tx, settlementId);
  if (s.status === to) return s;
  if (ORDER_NEXT[s.status] !== to) {
    throw invalidState(`An order that is ${s.status} cannot become ${to}`, {
      status: s.status,
      to,
    });
  }
  let code = s.pickup_code;
  if (to === 'ready_for_pickup' && !code) {
    // a clash with another order of this store is rare; try a few codes
    for (let i = 0; i < 5 && !code; i++) {
      const candidate = pickupCode();
      const [clash] = await tx.query(
        'SELECT 1 FROM orders WHERE store_id = $1 AND pickup_code = $2',
        [s.store_id, candidate],
      );
      if (!clash) code = candidate;
    }
    await tx.query('UPDATE orders SET pickup_code = $2 WHERE settlement_id = $1', [s.id, code]);
  }
  if (to === 'completed') {
    await moveHolds(tx, s.id, 'sale', now);
    // shares owed at the store are paid at the counter on pickup
    await tx.query(
      `UPDATE payments SET status = 'captured', updated_at = $2 WHERE settlement_id = $1 AND status = 'due_at_store'`,
      [s.id, now],
    );
  }
  await tx.query('UPDATE orders SET status = $2, updated_at = $3 WHERE settlement_id = $1', [
    s.id,
    to,
    now,
  ]);
  await setSettlement(tx, s.id, { status: to, ...(code ? { pickup_code: code } : {}) }, now);
  await enqueueSettlementEvent(tx, s.id, now);
  ctx.log.info({ settlementId: s.id, roomId: s.room_id, status: to }, 'order status changed');
  return { ...s, status: to, pickup_code: code };
}
