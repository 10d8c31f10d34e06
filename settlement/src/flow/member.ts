/**
 * What members do after the settlement exists: pay on the local pay page, retry a declined
 * share with another method, or cover a friend's share.
 */
import type { Ctx } from '../context.ts';
import { SettlementError, invalidState, notFound } from '../errors.ts';
import { secretId, shortId } from '../ids.ts';
import { enqueueSettlementEvent } from '../outbox.ts';
import type { Queryable } from '@patungan/db';
import { undoAttemptStep } from '../saga/compensate.ts';
import { runAttemptWork } from './attempts.ts';
import { lockSettlement, type Method, type PaymentRow, type SettlementRow } from './rows.ts';
import { advance, applyProviderStatus } from './transitions.ts';
import { paymentView, type PaymentView } from './view.ts';

/** A share in one of these is paid (or on its way to being captured). */
const PAID: readonly string[] = ['authorized', 'captured'];

function requireOpen(s: SettlementRow): void {
  if (s.status !== 'awaiting_payment') {
    throw invalidState(
      `This settlement is ${s.status.replace(/_/g, ' ')}; its shares can no longer change`,
      {
        status: s.status,
      },
    );
  }
  if (s.phase !== 'open') {
    throw invalidState('Every share is covered and payments are being captured', {
      status: s.status,
    });
  }
}

function requireMethod(ctx: Ctx, method: Method, currency: string): void {
  if (method === 'local' || method === 'store') return;
  if (!ctx.providers[method] || (method === 'midtrans' && currency !== 'IDR')) {
    throw new SettlementError(
      422,
      'method_unavailable',
      `${method} payments are not available for this settlement`,
      {
        method,
      },
    );
  }
}

/**
 * Starts a new attempt for a payment (the previous one, if still live at its provider, is
 * queued for voiding). `store` needs no attempt: the share is owed at pickup.
 */
async function newAttempt(
  ctx: Ctx,
  tx: Queryable,
  s: SettlementRow,
  p: PaymentRow,
  method: Method,
  amount: number,
  now: Date,
): Promise<void> {
  await undoAttemptStep(tx, p.id, p.attempt, 'authorise', now);
  if (method === 'store') {
    await tx.query(
      `UPDATE payments SET method = 'store', status = 'due_at_store', amount = $2, pay_url = NULL, updated_at = $3
       WHERE id = $1`,
      [p.id, amount, now],
    );
    return;
  }
  const attempt = p.attempt + 1;
  const id = shortId('att');
  await tx.query(
    `INSERT INTO payment_attempts (id, payment_id, settlement_id, attempt, provider, amount, currency, status,
       provider_ref, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
    [
      id,
      p.id,
      s.id,
      attempt,
      method,
      amount,
      p.currency,
      method === 'local' ? 'pending' : 'creating',
      method === 'local' ? id : null,
      now,
    ],
  );
  await tx.query(
    `UPDATE payments SET method = $2, status = 'pending', amount = $3, attempt = $4, pay_url = $5, updated_at = $6
     WHERE id = $1`,
    [
      p.id,
      method,
      amount,
      attempt,
      method === 'local' ? `${ctx.publicUrl}/pay/${p.id}` : null,
      now,
    ],
  );
}

async function readPayment(q: Queryable, id: string): Promise<PaymentView> {
  const [p] = await q.query<PaymentRow>('SELECT * FROM payments WHERE id = $1', [id]);
  if (!p) throw notFound(`Payment ${id}`);
  return paymentView(p);
}

/** The local provider's pay page buttons. */
export async function localPay(
  ctx: Ctx,
  paymentId: string,
  action: 'authorize' | 'decline',
): Promise<PaymentView> {
  await ctx.db.transaction(async (tx) => {
    const [ref] = await tx.query<{ settlement_id: string }>(
      'SELECT settlement_id FROM payments WHERE id = $1',
      [paymentId],
    );
    if (!ref) throw notFound(`Payment ${paymentId}`);
    const s = await lockSettlement(tx, ref.settlement_id);
    const [p] = await tx.query<PaymentRow>('SELECT * FROM payments WHERE id = $1 FOR UPDATE', [
      paymentId,
    ]);
    if (!p) throw notFound(`Payment ${paymentId}`);
    // A second tap on Authorise (or a reload that re-posts) finds the share paid: nothing to
    // do, and the answer is the paid state, whatever the settlement has moved on to since.
    if (action === 'authorize' && p.method === 'local' && PAID.includes(p.status)) return;
    requireOpen(s);
    if (p.method !== 'local') {
      throw invalidState(`This share is paid with ${p.method}, not on this page`, {
        method: p.method,
      });
    }
    if (p.status !== 'pending' && p.status !== 'declined') {
      throw invalidState(`This share is already ${p.status.replace(/_/g, ' ')}`, {
        status: p.status,
      });
    }
    const [a] = await tx.query<{ id: string }>(
      'SELECT id FROM payment_attempts WHERE payment_id = $1 AND attempt = $2',
      [p.id, p.attempt],
    );
    if (!a) throw notFound(`Payment attempt for ${paymentId}`);
    await applyProviderStatus(
      ctx,
      tx,
      a.id,
      action === 'authorize' ? 'authorized' : 'declined',
      ctx.clock.now(),
    );
    ctx.log.info(
      { settlementId: s.id, roomId: s.room_id, memberId: p.member_id, action },
      'local pay page',
    );
  });
  ctx.kick();
  return readPayment(ctx.db, paymentId);
}

/** A member whose share is open (pending or declined) pays it another way. */
export async function retryPayment(
  ctx: Ctx,
  settlementId: string,
  memberId: string,
  method: Method,
): Promise<PaymentView> {
  const paymentId = await ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const s = await lockSettlement(tx, settlementId);
    requireOpen(s);
    requireMethod(ctx, method, s.currency);
    const [p] = await tx.query<PaymentRow>(
      'SELECT * FROM payments WHERE settlement_id = $1 AND member_id = $2 FOR UPDATE',
      [settlementId, memberId],
    );
    if (!p) throw notFound(`A share of ${memberId} in this settlement`);
    if (p.status !== 'pending' && p.status !== 'declined' && p.status !== 'due_at_store') {
      throw invalidState(`This share is already ${p.status.replace(/_/g, ' ')}`, {
        status: p.status,
      });
    }
    await newAttempt(ctx, tx, s, p, method, p.amount, now);
    await enqueueSettlementEvent(tx, s.id, now);
    await advance(ctx, tx, s.id, now);
    ctx.log.info({ settlementId, roomId: s.room_id, memberId, method }, 'payment retried');
    return p.id;
  });
  await runAttemptWork(ctx, 10, settlementId);
  ctx.kick();
  return readPayment(ctx.db, paymentId);
}

/**
 * `coverer` takes over `memberId`'s open share: the coverer's payment grows by that amount
 * (a new attempt for the new total; an earlier authorisation is voided), and the covered
 * share becomes `covered`.
 */
export async function coverPayment(
  ctx: Ctx,
  settlementId: string,
  memberId: string,
  coverer: { id: string; name: string },
  method: Method | undefined,
): Promise<{ covered: PaymentView; coverer: PaymentView }> {
  if (coverer.id === memberId) {
    throw new SettlementError(
      422,
      'invalid_request',
      'You cannot cover your own share; retry it instead',
    );
  }
  const ids = await ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const s = await lockSettlement(tx, settlementId);
    requireOpen(s);
    const [target] = await tx.query<PaymentRow>(
      'SELECT * FROM payments WHERE settlement_id = $1 AND member_id = $2 FOR UPDATE',
      [settlementId, memberId],
    );
    if (!target) throw notFound(`A share of ${memberId} in this settlement`);
    if (target.status !== 'pending' && target.status !== 'declined') {
      throw invalidState(`That share is already ${target.status.replace(/_/g, ' ')}`, {
        status: target.status,
      });
    }
    let [mine] = await tx.query<PaymentRow>(
      'SELECT * FROM payments WHERE settlement_id = $1 AND member_id = $2 FOR UPDATE',
      [settlementId, coverer.id],
    );
    if (mine && (mine.status === 'covered' || mine.status === 'captured')) {
      throw invalidState(`Your own share is already ${mine.status}; it cannot grow`, {
        status: mine.status,
      });
    }
    if (!mine) {
      // A member who owed nothing covers a friend: give them a payment to grow.
      const [pos] = await tx.query<{ n: number }>(
        'SELECT coalesce(max(position), 0) + 1 AS n FROM payments WHERE settlement_id = $1',
        [settlementId],
      );
      [mine] = await tx.query<PaymentRow>(
        `INSERT INTO payments (id, settlement_id, member_id, member_name, position, method, share, amount,
           currency, status, attempt, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, 'pending', 0, $8) RETURNING *`,
        [
          secretId('pay'),
          settlementId,
          coverer.id,
          coverer.name,
          pos?.n ?? 0,
          method ?? 'local',
          s.currency,
          now,
        ],
      );
    }
    if (!mine) throw new Error('payment insert returned nothing');
    const use = method ?? mine.method;
    requireMethod(ctx, use, s.currency);
    await undoAttemptStep(tx, target.id, target.attempt, 'authorise', now);
    await tx.query(
      `UPDATE payments SET status = 'covered', covered_by = $2, pay_url = NULL, updated_at = $3 WHERE id = $1`,
      [target.id, coverer.id, now],
    );
    await newAttempt(ctx, tx, s, mine, use, mine.amount + target.amount, now);
    await enqueueSettlementEvent(tx, s.id, now);
    await advance(ctx, tx, s.id, now);
    ctx.log.info(
      {
        settlementId,
        roomId: s.room_id,
        memberId,
        coveredBy: coverer.id,
        amount: target.amount,
        currency: target.currency,
      },
      'share covered',
    );
    return { target: target.id, mine: mine.id };
  });
  await runAttemptWork(ctx, 10, settlementId);
  ctx.kick();
  return {
    covered: await readPayment(ctx.db, ids.target),
    coverer: await readPayment(ctx.db, ids.mine),
  };
}
