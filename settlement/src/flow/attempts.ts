/**
 * The worker's provider calls for payment attempts: the saga's payment steps (authorise,
 * capture) and their undos (void, refund), picked by the saga table (saga/table.ts). The
 * work is found in the database (attempts in a "-ing" status, the table's `work`), leased
 * to one process at a time with `FOR UPDATE SKIP LOCKED`, and every call carries a stable
 * idempotency key — so a lease that lapses because its process died just means another
 * process repeats a call the provider already knows, and nobody is charged twice.
 */
import type { Ctx } from '../context.ts';
import { addMs } from '../clock.ts';
import { enqueueSettlementEvent } from '../outbox.ts';
import { ProviderError, type AttemptInfo } from '../providers/provider.ts';
import { authorise } from '../saga/authorise.ts';
import { capture } from '../saga/capture.ts';
import type { StepResult } from '../saga/step.ts';
import { SAGA, WORK_STATUSES, sqlList } from '../saga/table.ts';
import { applyProviderStatus } from './transitions.ts';
import type { PaymentProvider } from '@patungan/model';
import type { AttemptStatus } from './rows.ts';

const STEPS = { authorise, capture } as const;

export interface AttemptJob extends AttemptInfo {
  status: AttemptStatus;
  provider: PaymentProvider;
  tries: number;
}

interface JobRow {
  id: string;
  payment_id: string;
  settlement_id: string;
  attempt: number;
  provider: PaymentProvider;
  amount: number;
  currency: string;
  status: AttemptStatus;
  provider_ref: string | null;
  tries: number;
  room_id: string;
  member_id: string;
  member_name: string;
  hold_expires_at: Date;
}

const JOB_COLUMNS = `a.id, a.payment_id, a.settlement_id, a.attempt, a.provider, a.amount, a.currency,
  a.status, a.provider_ref, a.tries, s.room_id, p.member_id, p.member_name, s.hold_expires_at`;

function toJob(r: JobRow): AttemptJob {
  return {
    attemptId: r.id,
    paymentId: r.payment_id,
    settlementId: r.settlement_id,
    roomId: r.room_id,
    memberId: r.member_id,
    memberName: r.member_name,
    attempt: r.attempt,
    amount: r.amount,
    currency: r.currency,
    ref: r.provider_ref,
    holdExpiresAt: r.hold_expires_at,
    status: r.status,
    provider: r.provider,
    tries: r.tries,
  };
}

const WORK_IN = sqlList(WORK_STATUSES);

/** Leases up to `limit` attempts that need a provider call (optionally of one settlement). */
export async function claimAttemptWork(
  ctx: Ctx,
  limit: number,
  settlementId?: string,
): Promise<AttemptJob[]> {
  const now = ctx.clock.now();
  const rows = await ctx.db.query<JobRow>(
    `WITH claimed AS (
       UPDATE payment_attempts SET lease_owner = $1, lease_until = $2
       WHERE id IN (
         SELECT id FROM payment_attempts
         WHERE status IN (${WORK_IN})
           AND (next_try_at IS NULL OR next_try_at <= $3)
           AND (lease_until IS NULL OR lease_until < $3)
           AND ($5::text IS NULL OR settlement_id = $5)
         ORDER BY updated_at LIMIT $4
         FOR UPDATE SKIP LOCKED)
       RETURNING *)
     SELECT ${JOB_COLUMNS} FROM claimed a
       JOIN payments p ON p.id = a.payment_id JOIN settlements s ON s.id = a.settlement_id`,
    [ctx.instanceId, addMs(now, ctx.leaseMs), now, limit, settlementId ?? null],
  );
  return rows.map(toJob);
}

async function releaseLease(ctx: Ctx, job: AttemptJob, err: unknown): Promise<void> {
  const now = ctx.clock.now();
  const backoff = Math.min(30_000, 250 * 2 ** Math.min(job.tries, 7));
  await ctx.db.query(
    `UPDATE payment_attempts SET tries = tries + 1, next_try_at = $2, last_error = $3,
       lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $4`,
    [
      job.attemptId,
      addMs(now, backoff),
      String(err instanceof Error ? err.message : err).slice(0, 500),
      ctx.instanceId,
    ],
  );
}

/** Stores a step's answer and gives the lease back, in one transaction. */
async function record(ctx: Ctx, job: AttemptJob, r: StepResult): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const viewChanged = r.write ? await r.write(tx, now) : false;
    await applyProviderStatus(ctx, tx, job.attemptId, r.status, now);
    if (viewChanged) await enqueueSettlementEvent(tx, job.settlementId, now);
    await tx.query(
      `UPDATE payment_attempts SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`,
      [job.attemptId, ctx.instanceId],
    );
  });
}

/**
 * Runs one leased job: the saga table says which step the attempt's status is at and in
 * which direction, and the step makes that provider call. Transient failures are retried
 * later with backoff.
 */
export async function runAttemptJob(ctx: Ctx, job: AttemptJob): Promise<void> {
  const provider = ctx.providers[job.provider];
  const log = ctx.log.child({
    settlementId: job.settlementId,
    roomId: job.roomId,
    memberId: job.memberId,
    attemptId: job.attemptId,
  });
  const { step, direction } = SAGA[job.status];
  const creating = step === 'authorise' && direction === 'forward';
  try {
    if (!provider)
      throw new ProviderError(job.provider, true, `${job.provider} is not configured here`);
    const result = await STEPS[step][direction === 'forward' ? 'action' : 'undo'](
      ctx,
      provider,
      job,
    );
    if (creating) {
      ctx.metrics.providerCalls.inc({ provider: job.provider, op: 'create', result: 'ok' });
    } else {
      ctx.metrics.providerCalls.inc({
        provider: job.provider,
        op: job.status,
        result: result.status,
      });
      log.info({ op: job.status, result: result.status }, 'provider call done');
    }
    await record(ctx, job, result);
  } catch (err) {
    if (err instanceof ProviderError && !err.transient && creating) {
      // The provider refused outright (an invalid amount, say): the share is open for a retry
      // with another method.
      log.warn({ err: err.message }, 'provider refused to create a payment');
      ctx.metrics.providerCalls.inc({ provider: job.provider, op: 'create', result: 'refused' });
      await record(ctx, job, { status: 'declined' });
      return;
    }
    ctx.metrics.providerCalls.inc({ provider: job.provider, op: job.status, result: 'error' });
    log.warn(
      { err: err instanceof Error ? err.message : String(err), tries: job.tries + 1 },
      'provider call failed, will retry',
    );
    await releaseLease(ctx, job, err);
  }
}

/** Claims and runs attempt work with bounded parallelism; returns how many jobs ran. */
export async function runAttemptWork(ctx: Ctx, limit = 50, settlementId?: string): Promise<number> {
  const jobs = await claimAttemptWork(ctx, limit, settlementId);
  const queue = [...jobs];
  const lanes = Array.from({ length: Math.min(8, queue.length) }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await runAttemptJob(ctx, job);
  });
  await Promise.all(lanes);
  return jobs.length;
}
