/**
 * Compensation: undo every step a settlement has taken, in one transaction (the caller's).
 * Stock goes back at once (hold-stock.ts); each payment attempt moves to its status's undo
 * in the saga table (table.ts) — authorisations and payments still being created to
 * `voiding`, captures to `refunding` — and the worker makes those provider calls. Each call
 * is idempotent, so a crash halfway just means doing the rest later.
 */
import type { Queryable } from '@patungan/db';
import { holdStock, type ReleaseReason } from './hold-stock.ts';
import { sqlList, undoable, undoCase, type AttemptStepName } from './table.ts';

const ALL = undoable();
const UNDO_ALL = `UPDATE payment_attempts SET status = ${undoCase(ALL)},
       tries = 0, next_try_at = NULL, updated_at = $2
     WHERE settlement_id = ANY($1::text[]) AND status IN (${sqlList(ALL)})`;

export async function compensate(
  tx: Queryable,
  settlementIds: readonly string[],
  stock: ReleaseReason,
  now: Date,
): Promise<void> {
  await holdStock.undo(tx, settlementIds, stock, now);
  await undoPayments(tx, settlementIds, now);
}

/**
 * The payment half of `compensate`: every attempt to its undo, every share not money taken
 * voided. The expiry (flow/transitions.ts `expireMany`) runs it first and releases the stock
 * last, so that it holds the stock rows' locks only from there to its commit.
 */
export async function undoPayments(
  tx: Queryable,
  settlementIds: readonly string[],
  now: Date,
): Promise<void> {
  const ids = [...settlementIds];
  await tx.query(UNDO_ALL, [ids, now]);
  // Every share that is not money taken is void now; a captured share stays captured
  // until its refund is recorded (then `refunded`).
  await tx.query(
    `UPDATE payments SET status = 'voided', updated_at = $2
     WHERE settlement_id = ANY($1::text[])
       AND status IN ('pending', 'authorized', 'declined', 'due_at_store', 'covered')`,
    [ids, now],
  );
}

const UNDO_STEP = Object.fromEntries(
  (['authorise', 'capture'] as const).map((step) => {
    const statuses = undoable(step);
    return [
      step,
      `UPDATE payment_attempts SET status = ${undoCase(statuses)}, tries = 0, next_try_at = NULL,
         updated_at = $3
       WHERE payment_id = $1 AND attempt = $2 AND status IN (${sqlList(statuses)})`,
    ];
  }),
) as Record<AttemptStepName, string>;

/**
 * Undoes one step of one payment attempt, by the table (a member retries with another
 * method, or a friend covers the share: the replaced attempt's authorise step → `voiding`).
 */
export async function undoAttemptStep(
  tx: Queryable,
  paymentId: string,
  attempt: number,
  step: AttemptStepName,
  now: Date,
): Promise<void> {
  await tx.query(UNDO_STEP[step], [paymentId, attempt, now]);
}
