/**
 * Order fulfilment, after the payment saga is done: a settlement that reaches `paid` gets an
 * order, which the store's staff move paid → packed → ready_for_pickup (a pickup code) →
 * completed (handed over: the committed units leave the store as a sale, shares owed at the
 * store count as paid at the counter). Separate from the payment state machine
 * (transitions.ts), which only opens the order and cancels it with its settlement.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '@patungan/db';
import type { Ctx } from '../context.ts';
import { SettlementError, invalidState } from '../errors.ts';
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

/** Wrong pickup codes in a row that lock an order's handover (docs/security.md). */
export const PICKUP_CODE_MAX_TRIES = 5;
/** How long an order stays locked after that many wrong codes. */
export const PICKUP_CODE_LOCK_MS = 15 * 60_000;

/** What staff typed or scanned, as a code: case, spaces and dashes do not matter. */
export const normalisePickupCode = (code: string): string =>
  code.replace(/[\s-]/g, '').toUpperCase();

/**
 * Whether `given` is the order's code, in time that does not depend on where they differ
 * (both sides are hashed first, so even the lengths compare in constant time).
 */
export function pickupCodeMatches(expected: string | null, given: string | undefined): boolean {
  if (!expected || given === undefined) return false;
  const digest = (x: string) => createHash('sha256').update(x).digest();
  return timingSafeEqual(digest(expected), digest(normalisePickupCode(given)));
}

/**
 * Staff hand the order over: `completed` only with the shoppers' pickup code. A wrong code is
 * counted on the order (in this transaction, which commits: the refusal is returned, not
 * thrown); the {@link PICKUP_CODE_MAX_TRIES}th in a row locks the order's handover for
 * {@link PICKUP_CODE_LOCK_MS}, during which even the right code is refused (`429
 * pickup_code_locked`), so 31^6 codes cannot be tried at the counter's speed. The right code
 * clears the count.
 */
export async function completeOrder(
  ctx: Lite,
  tx: Queryable,
  settlementId: string,
  code: string | undefined,
  now: Date,
): Promise<SettlementError | null> {
  const s = await lockSettlement(tx, settlementId);
  const [o] = await tx.query<{ id: string; code_failures: number; code_locked_until: Date | null }>(
    'SELECT id, code_failures, code_locked_until FROM orders WHERE settlement_id = $1 FOR UPDATE',
    [settlementId],
  );
  if (!o || !s.pickup_code) {
    // not ready for pickup yet: the state machine says why
    await moveOrder(ctx, tx, settlementId, 'completed', now);
    return null;
  }
  const log = ctx.log.child({ settlementId: s.id, roomId: s.room_id, orderId: o.id });
  if (o.code_locked_until && o.code_locked_until > now) {
    const retryAfterSeconds = Math.ceil((o.code_locked_until.getTime() - now.getTime()) / 1000);
    log.warn({ retryAfterSeconds }, 'pickup refused: order locked after wrong codes');
    return new SettlementError(
      429,
      'pickup_code_locked',
      'Too many wrong pickup codes for this order: try again later',
      { retryAfterSeconds },
    );
  }
  if (!code) {
    return new SettlementError(422, 'pickup_code_mismatch', 'The pickup code is required');
  }
  if (!pickupCodeMatches(s.pickup_code, code)) {
    const failures = o.code_failures + 1;
    const lock = failures >= PICKUP_CODE_MAX_TRIES;
    await tx.query('UPDATE orders SET code_failures = $2, code_locked_until = $3 WHERE id = $1', [
      o.id,
      lock ? 0 : failures,
      lock ? new Date(now.getTime() + PICKUP_CODE_LOCK_MS) : null,
    ]);
    log.warn({ failures, locked: lock }, 'wrong pickup code');
    return new SettlementError(
      422,
      'pickup_code_mismatch',
      'That is not the pickup code of this order',
      { triesLeft: lock ? 0 : PICKUP_CODE_MAX_TRIES - failures },
    );
  }
  if (o.code_failures > 0) {
    await tx.query('UPDATE orders SET code_failures = 0 WHERE id = $1', [o.id]);
  }
  await moveOrder(ctx, tx, settlementId, 'completed', now);
  return null;
}
