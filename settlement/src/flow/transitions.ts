/**
 * The payment state machine of a settlement: what a provider's answer does to an attempt and
 * its member's share (`applyProviderStatus`), when the group moves on to captures and to
 * paid (`advance`), and how it ends unpaid (`expireMany`, `cancel`). Every function here runs
 * inside the caller's transaction, takes its locks in one order (settlement → payments →
 * attempts) and writes an outbox event when the room-facing state changes.
 *
 * The steps it moves through and their undos are the saga's (saga/table.ts): hold stock ↔
 * release, authorise ↔ void, capture ↔ refund. Captures start only when every share is
 * covered; if the hold expires first (or the settlement is cancelled), every step taken is
 * undone by saga/compensate.ts. What happens after paid — packing, pickup — is order
 * fulfilment (fulfilment.ts).
 */
import type { Queryable } from '@patungan/db';
import type { Ctx } from '../context.ts';
import { invalidState } from '../errors.ts';
import { enqueueSettlementEvent, enqueueSettlementEvents } from '../outbox.ts';
import type { ProviderStatus } from '../providers/provider.ts';
import { compensate, undoPayments } from '../saga/compensate.ts';
import { holdStock } from '../saga/hold-stock.ts';
import { cancelOrder, openOrder } from './fulfilment.ts';
import {
  COVERING,
  lockSettlement,
  setSettlement,
  type AttemptRow,
  type AttemptStatus,
  type PaymentRow,
  type PaymentStatus,
  type SettlementRow,
} from './rows.ts';

type Lite = Pick<Ctx, 'log' | 'metrics'>;

/**
 * Applies what a provider (or the local pay page) says about one attempt. Idempotent and
 * monotonic: a repeated or late report never moves an attempt backwards, and an
 * authorisation or capture that nobody needs any more (a stale attempt, a share already
 * covered, a settlement that ended) is queued to be voided or refunded.
 */
export async function applyProviderStatus(
  ctx: Lite,
  tx: Queryable,
  attemptId: string,
  ps: ProviderStatus,
  now: Date,
): Promise<{ settlementId: string; changed: boolean } | null> {
  const [ref] = await tx.query<{ settlement_id: string; payment_id: string }>(
    'SELECT settlement_id, payment_id FROM payment_attempts WHERE id = $1',
    [attemptId],
  );
  if (!ref) return null;
  const s = await lockSettlement(tx, ref.settlement_id);
  const [p] = await tx.query<PaymentRow>('SELECT * FROM payments WHERE id = $1 FOR UPDATE', [
    ref.payment_id,
  ]);
  const [a] = await tx.query<AttemptRow>(
    'SELECT * FROM payment_attempts WHERE id = $1 FOR UPDATE',
    [attemptId],
  );
  if (!p || !a) return null;

  const current = a.attempt === p.attempt && p.status !== 'covered';
  const awaiting = s.status === 'awaiting_payment';
  // The member's share is still open to this attempt.
  const payable =
    current &&
    awaiting &&
    s.phase === 'open' &&
    (p.status === 'pending' || p.status === 'declined');
  let aNext: AttemptStatus = a.status;
  let pNext: PaymentStatus = p.status;
  const was = (...xs: AttemptStatus[]) => xs.includes(a.status);

  switch (ps) {
    case 'pending':
      if (was('creating')) aNext = 'pending';
      break;
    case 'authorized':
      if (was('creating', 'pending', 'declined')) {
        if (payable) [aNext, pNext] = ['authorized', 'authorized'];
        else aNext = 'voiding';
      }
      break;
    case 'captured':
      if (was('capturing')) {
        aNext = 'captured';
        if (current) pNext = 'captured';
      } else if (was('creating', 'pending', 'declined', 'authorized')) {
        // money moved without our capture (Midtrans VA / QRIS settle at once)
        if (payable || (current && awaiting && p.status === 'authorized'))
          [aNext, pNext] = ['captured', 'captured'];
        else aNext = 'refunding';
      } else if (was('voiding')) {
        aNext = 'refunding';
      }
      break;
    case 'declined':
    case 'voided':
      if (was('creating', 'pending', 'authorized', 'capturing', 'declined', 'voiding')) {
        aNext = ps === 'voided' || was('voiding') ? 'voided' : 'declined';
        // the member's share is open again: they may retry, or a friend may cover it
        if (current && awaiting && (p.status === 'pending' || p.status === 'authorized'))
          pNext = 'declined';
      }
      break;
    case 'refunded':
      if (was('captured', 'refunding')) {
        aNext = 'refunded';
        if (a.attempt === p.attempt && (p.status === 'captured' || p.status === 'voided'))
          pNext = 'refunded';
      }
      break;
  }

  const changed = aNext !== a.status || pNext !== p.status;
  if (aNext !== a.status) {
    await tx.query(
      `UPDATE payment_attempts SET status = $2, updated_at = $3, tries = 0, next_try_at = NULL WHERE id = $1`,
      [a.id, aNext, now],
    );
  }
  if (pNext !== p.status) {
    await tx.query('UPDATE payments SET status = $2, updated_at = $3 WHERE id = $1', [
      p.id,
      pNext,
      now,
    ]);
  }
  if (pNext !== p.status) await enqueueSettlementEvent(tx, s.id, now);
  if (changed) {
    ctx.log.info(
      {
        settlementId: s.id,
        roomId: s.room_id,
        memberId: p.member_id,
        attemptId: a.id,
        from: a.status,
        to: aNext,
        payment: pNext,
      },
      'payment attempt updated',
    );
    await advance(ctx, tx, s.id, now);
  }
  return { settlementId: s.id, changed };
}

/**
 * Moves a settlement forward when it can: every share covered → start the captures; every
 * capture done → commit the stock and mark it paid; a capture failed → reopen the share.
 * Returns true when the worker has captures to run.
 */
export async function advance(
  ctx: Lite,
  tx: Queryable,
  settlementId: string,
  now: Date,
): Promise<boolean> {
  const s = await lockSettlement(tx, settlementId);
  if (s.status !== 'awaiting_payment') return false;
  const payments = await tx.query<Pick<PaymentRow, 'id' | 'status' | 'attempt'>>(
    'SELECT id, status, attempt FROM payments WHERE settlement_id = $1',
    [s.id],
  );
  if (s.phase === 'open') {
    if (!payments.every((p) => COVERING.includes(p.status))) return false;
    // Too late: the expiry sweep is about to compensate; starting captures now would only
    // mean refunding them.
    if (s.hold_expires_at.getTime() <= now.getTime()) return false;
    await tx.query(
      `UPDATE payment_attempts a SET status = 'capturing', tries = 0, next_try_at = NULL, updated_at = $2
       FROM payments p
       WHERE p.settlement_id = $1 AND p.status = 'authorized' AND a.payment_id = p.id
         AND a.attempt = p.attempt AND a.status = 'authorized'`,
      [s.id, now],
    );
    await setSettlement(tx, s.id, { phase: 'capturing' }, now);
    s.phase = 'capturing';
  }
  if (s.phase !== 'capturing') return false;
  const [busy] = await tx.query<{ n: number }>(
    `SELECT count(*) AS n FROM payment_attempts WHERE settlement_id = $1 AND status = 'capturing'`,
    [s.id],
  );
  if ((busy?.n ?? 0) > 0) return true;
  const fresh = await tx.query<Pick<PaymentRow, 'status'>>(
    'SELECT status FROM payments WHERE settlement_id = $1',
    [s.id],
  );
  if (
    fresh.every(
      (p) => p.status === 'captured' || p.status === 'due_at_store' || p.status === 'covered',
    )
  ) {
    await markPaid(ctx, tx, s, now);
  } else {
    // A capture failed (the authorisation lapsed, say): that share is open again.
    await setSettlement(tx, s.id, { phase: 'open' }, now);
    await enqueueSettlementEvent(tx, s.id, now);
  }
  return false;
}

async function markPaid(ctx: Lite, tx: Queryable, s: SettlementRow, now: Date): Promise<void> {
  await holdStock.commit(tx, s.id, now);
  await openOrder(tx, s, now);
  await setSettlement(tx, s.id, { status: 'paid', phase: 'done' }, now);
  await enqueueSettlementEvent(tx, s.id, now);
  ctx.metrics.settlements.inc({ outcome: 'paid' });
  ctx.log.info({ settlementId: s.id, roomId: s.room_id }, 'settlement paid');
}

/** Open shares of settlement `s` (SQL): still pending or declined, nobody covered them. */
const OPEN_SHARE = `p.settlement_id = s.id AND p.status IN ('pending', 'declined')`;
const UNPAID_IDS = `(SELECT coalesce(jsonb_agg(p.member_id ORDER BY p.position), '[]'::jsonb)
  FROM payments p WHERE ${OPEN_SHARE})`;
const UNPAID_NAMES = `(SELECT string_agg(p.member_name, ', ' ORDER BY p.position)
  FROM payments p WHERE ${OPEN_SHARE})`;

/**
 * Holds expired with a share still open: stock back on the shelf, nobody stays charged.
 * Set-based over a batch (the caller holds the settlements' row locks, or this takes them);
 * settlements that are no longer awaiting payment are skipped. Returns how many expired.
 */
export async function expireMany(
  ctx: Lite,
  tx: Queryable,
  settlementIds: readonly string[],
  now: Date,
): Promise<number> {
  if (settlementIds.length === 0) return 0;
  // `unpaid` names who had not paid (member ids, in the settlement's order); the room shows
  // their names in its own language. `reason` is the same in English, for logs and staff.
  const expired = await tx.query<{ id: string; room_id: string; open: number }>(
    `WITH due AS (
       SELECT s.id, ${UNPAID_IDS} AS unpaid, ${UNPAID_NAMES} AS names
       FROM settlements s WHERE s.id = ANY($1::text[]) AND s.status = 'awaiting_payment'
       ORDER BY s.id FOR UPDATE)
     UPDATE settlements s SET status = 'expired', phase = 'done', updated_at = $2,
       unpaid = due.unpaid,
       reason = CASE WHEN due.names IS NULL THEN 'The hold expired before payment completed'
                     ELSE 'The hold expired before ' || due.names || ' paid' END
     FROM due WHERE s.id = due.id
     RETURNING s.id, s.room_id, jsonb_array_length(due.unpaid) AS open`,
    [[...settlementIds], now],
  );
  if (expired.length === 0) return 0;
  const ids = expired.map((e) => e.id);
  // compensation (saga/compensate.ts), the stock last: its rows stay locked only from the
  // release to the commit, so a sweep beside this one or a hold on the same rows waits that
  // long rather than the whole batch (the events do not depend on the stock)
  await undoPayments(tx, ids, now);
  await enqueueSettlementEvents(tx, ids, now);
  await holdStock.undo(tx, ids, 'expire', now);
  ctx.metrics.settlements.inc({ outcome: 'expired' }, ids.length);
  for (const e of expired) {
    ctx.log.info(
      { settlementId: e.id, roomId: e.room_id, openShares: e.open },
      'settlement expired',
    );
  }
  return ids.length;
}

export const expire = (ctx: Lite, tx: Queryable, settlementId: string, now: Date) =>
  expireMany(ctx, tx, [settlementId], now).then((n) => n > 0);

/** Cancels before pickup: releases held or committed stock, voids or refunds payments. */
export async function cancel(
  ctx: Lite,
  tx: Queryable,
  settlementId: string,
  reason: string,
  now: Date,
): Promise<SettlementRow> {
  const s = await lockSettlement(tx, settlementId);
  if (s.status === 'cancelled') return s;
  if (s.status === 'completed' || s.status === 'expired') {
    throw invalidState(`A ${s.status} settlement cannot be cancelled`, { status: s.status });
  }
  if (s.status === 'awaiting_payment') {
    // who had not paid when the group gave up (before compensate voids every share)
    await tx.query(`UPDATE settlements s SET unpaid = ${UNPAID_IDS} WHERE s.id = $1`, [s.id]);
  }
  // before paying the stock is held, after it committed: either way it goes back on sale
  await compensate(tx, [s.id], s.status === 'awaiting_payment' ? 'release' : 'unreserve', now);
  await cancelOrder(tx, s.id, now);
  await setSettlement(tx, s.id, { status: 'cancelled', phase: 'done', reason }, now);
  await enqueueSettlementEvent(tx, s.id, now);
  ctx.metrics.settlements.inc({ outcome: 'cancelled' });
  ctx.log.info({ settlementId: s.id, roomId: s.room_id, reason }, 'settlement cancelled');
  return { ...s, status: 'cancelled' };
}
