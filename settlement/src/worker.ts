/**
 * The settlement worker: expires holds (compensation undoes every saga step taken), runs the
 * saga's provider calls (create, capture, void, refund: the step and direction come from the
 * saga table, saga/table.ts), nudges settlements whose captures are done, and drains the
 * outbox. Every sweep claims its rows with `FOR UPDATE SKIP LOCKED` (or a lease), so any
 * number of worker processes can run against one PostgreSQL.
 */
import type { Ctx } from './context.ts';
import { addMs } from './clock.ts';
import { runAttemptWork } from './flow/attempts.ts';
import { advance, expireMany } from './flow/transitions.ts';
import { enqueueSettlementEvent } from './outbox.ts';
import type { PaymentProvider } from '@patungan/model';

export interface WorkerOptions {
  /**
   * HOLD_MAX_SECONDS × 1000: a hold whose member is paying at a provider when it runs out is
   * extended once, to at most this long after the settlement was created (default 1,800 s).
   */
  holdMaxMs?: number;
}

/**
 * docs/contracts.md "Payments window": a settlement whose hold has run out while a member's payment
 * is under way at a provider (a virtual account or QRIS issued at Midtrans, a Stripe payment
 * processing) gets its hold extended once, to `created_at + holdMaxMs`, and the room hears
 * the new `holdExpiresAt`. The provider is asked outside any transaction; the extension then
 * re-checks the settlement under its lock. Runs just before the expiry sweep. Returns how many
 * holds were extended.
 */
export async function extendPending(ctx: Ctx, holdMaxMs: number, limit = 50): Promise<number> {
  const now = ctx.clock.now();
  const rows = await ctx.db.query<{
    settlement_id: string;
    room_id: string;
    member_id: string;
    member_name: string;
    attempt_id: string;
    payment_id: string;
    attempt: number;
    provider: Exclude<PaymentProvider, 'local'>;
    provider_ref: string;
    amount: number;
    currency: string;
    hold_expires_at: Date;
  }>(
    `SELECT s.id AS settlement_id, s.room_id, p.member_id, p.member_name, a.id AS attempt_id,
       p.id AS payment_id, a.attempt, a.provider, a.provider_ref, a.amount, a.currency, s.hold_expires_at
     FROM settlements s
     JOIN payments p ON p.settlement_id = s.id AND p.status = 'pending'
     JOIN payment_attempts a ON a.payment_id = p.id AND a.attempt = p.attempt
     WHERE s.status = 'awaiting_payment' AND s.phase = 'open' AND s.hold_expires_at <= $1
       AND s.hold_extended_at IS NULL AND s.created_at + $2::double precision * interval '1 millisecond' > $1
       AND a.status = 'pending' AND a.provider IN ('stripe', 'midtrans') AND a.provider_ref IS NOT NULL
     ORDER BY s.hold_expires_at LIMIT $3`,
    [now, holdMaxMs, limit],
  );
  const paying = new Map<string, (typeof rows)[number]>();
  for (const r of rows) {
    if (paying.has(r.settlement_id)) continue;
    const provider = ctx.providers[r.provider];
    if (!provider?.inProgress) continue;
    try {
      const busy = await provider.inProgress({
        attemptId: r.attempt_id,
        paymentId: r.payment_id,
        settlementId: r.settlement_id,
        roomId: r.room_id,
        memberId: r.member_id,
        memberName: r.member_name,
        attempt: r.attempt,
        amount: Number(r.amount),
        currency: r.currency,
        ref: r.provider_ref,
        holdExpiresAt: r.hold_expires_at,
      });
      if (busy) paying.set(r.settlement_id, r);
    } catch (err) {
      // Not knowing is not a reason to keep stock on hold: the hold expires as usual.
      ctx.log.warn(
        {
          settlementId: r.settlement_id,
          roomId: r.room_id,
          memberId: r.member_id,
          err: err instanceof Error ? err.message : String(err),
        },
        'could not ask the provider whether a payment is under way',
      );
    }
  }
  let extended = 0;
  for (const r of paying.values()) {
    const done = await ctx.db.transaction(async (tx) => {
      const at = ctx.clock.now();
      const [s] = await tx.query<{ hold_expires_at: Date }>(
        `UPDATE settlements SET hold_expires_at = created_at + $2::double precision * interval '1 millisecond',
           hold_extended_at = $3, updated_at = $3
         WHERE id = $1 AND status = 'awaiting_payment' AND phase = 'open' AND hold_extended_at IS NULL
           AND created_at + $2::double precision * interval '1 millisecond' > $3
         RETURNING hold_expires_at`,
        [r.settlement_id, holdMaxMs, at],
      );
      if (!s) return false;
      await tx.query(
        `UPDATE holds SET expires_at = $2 WHERE settlement_id = $1 AND status = 'held'`,
        [r.settlement_id, s.hold_expires_at],
      );
      await enqueueSettlementEvent(tx, r.settlement_id, at);
      ctx.log.info(
        {
          settlementId: r.settlement_id,
          roomId: r.room_id,
          memberId: r.member_id,
          provider: r.provider,
          holdExpiresAt: s.hold_expires_at.toISOString(),
        },
        'hold extended while a payment is under way',
      );
      return true;
    });
    if (done) extended++;
  }
  return extended;
}

/** Settlements one expiry transaction releases at most (`expireDue`'s batch in `expireAll`). */
export const EXPIRY_BATCH = 500;

/**
 * Expiry sweeps that run side by side on PostgreSQL when more than one batch is due (a mass
 * expiry), each on its own connection: two keep both cores of the benchmark's machine busy
 * (docs/benchmarks.md "Settlement"). PGlite has one connection, so one sweep.
 */
export const expirySweeps = (ctx: Pick<Ctx, 'db'>): number => (ctx.db.kind === 'postgres' ? 2 : 1);

/** Expires settlements whose hold ran out while a share was still open. Returns how many. */
export async function expireDue(ctx: Ctx, limit = EXPIRY_BATCH): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const due = await tx.query<{ id: string }>(
      `SELECT id FROM settlements
       WHERE status = 'awaiting_payment'
         AND ((phase = 'open' AND hold_expires_at <= $1) OR (phase = 'capturing' AND hold_expires_at <= $2))
       ORDER BY hold_expires_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [now, addMs(now, -ctx.captureGraceMs), limit],
    );
    return expireMany(
      ctx,
      tx,
      due.map((d) => d.id),
      now,
    );
  });
}

/**
 * Expires everything due now, batch after batch (`expireDue`); when the first batch comes
 * back full (a mass expiry), `sweeps` sweeps go on in parallel, each on its own connection —
 * disjoint batches, since each claims with `SKIP LOCKED`; stock rows are locked in one order,
 * so they never deadlock. A sweep stops at a batch that is not full. Returns how many expired.
 */
export async function expireAll(
  ctx: Ctx,
  o: { batch?: number; sweeps?: number } = {},
): Promise<number> {
  const batch = o.batch ?? EXPIRY_BATCH;
  let expired = await expireDue(ctx, batch);
  if (expired < batch) return expired;
  const sweep = async () => {
    for (;;) {
      const n = await expireDue(ctx, batch);
      expired += n;
      if (n < batch) return;
    }
  };
  await Promise.all(Array.from({ length: o.sweeps ?? expirySweeps(ctx) }, sweep));
  return expired;
}

/** Safety net: settlements in `capturing` whose captures all finished get moved on. */
export async function advanceCapturing(ctx: Ctx, limit = 100): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const rows = await tx.query<{ id: string }>(
      `SELECT s.id FROM settlements s
       WHERE s.phase = 'capturing' AND s.status = 'awaiting_payment'
         AND NOT EXISTS (SELECT 1 FROM payment_attempts a WHERE a.settlement_id = s.id AND a.status = 'capturing')
       LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    for (const { id } of rows) await advance(ctx, tx, id, ctx.clock.now());
    return rows.length;
  });
}

/**
 * Milliseconds until the next hold runs out (an open settlement's deadline, or a capturing
 * one's plus the capture grace), or null when nothing is awaiting payment.
 */
export async function nextExpiryInMs(ctx: Ctx): Promise<number | null> {
  const [r] = await ctx.db.query<{ open: Date | null; capturing: Date | null }>(
    `SELECT
       (SELECT hold_expires_at FROM settlements WHERE status = 'awaiting_payment' AND phase = 'open'
        ORDER BY hold_expires_at LIMIT 1) AS open,
       (SELECT hold_expires_at FROM settlements WHERE status = 'awaiting_payment' AND phase = 'capturing'
        ORDER BY hold_expires_at LIMIT 1) AS capturing`,
  );
  const due = [r?.open?.getTime(), r?.capturing && r.capturing.getTime() + ctx.captureGraceMs]
    .filter((x): x is number => typeof x === 'number')
    .sort((a, b) => a - b)[0];
  return due === undefined ? null : Math.max(0, due - ctx.clock.now().getTime());
}

/**
 * One pass of every sweep; loops while a sweep filled its batch. `wakeInMs`: when the next
 * hold runs out — the loop (loop.ts) runs again then if that is before its next poll, so an
 * expiry is released within milliseconds of its deadline rather than up to a poll later.
 */
export async function workerTick(
  ctx: Ctx,
  o: WorkerOptions = {},
): Promise<{ expired: number; attempts: number; extended: number; wakeInMs: number | null }> {
  let expired = 0;
  let attempts = 0;
  const extended = await extendPending(ctx, o.holdMaxMs ?? 1_800_000);
  const expireAllDue = async () => {
    expired += await expireAll(ctx);
  };
  await expireAllDue();
  for (let round = 0; round < 20; round++) {
    const n = await runAttemptWork(ctx, 50);
    attempts += n;
    await advanceCapturing(ctx);
    if (n === 0) break;
    // holds that ran out meanwhile do not wait behind a backlog of provider calls
    await expireAllDue();
  }
  return { expired, attempts, extended, wakeInMs: await nextExpiryInMs(ctx) };
}
