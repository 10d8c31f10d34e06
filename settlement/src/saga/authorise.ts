/**
 * Saga step "authorise" ↔ "void". Action: create the member's payment at the provider (a
 * Stripe intent with manual capture, a Snap transaction; the local provider needs nothing),
 * whose pay link the member follows to authorise — the authorisation itself arrives later,
 * from the pay page or a webhook. Undo: void it, so nobody stays charged.
 */
import type { Ctx } from '../context.ts';
import type { AttemptJob } from '../flow/attempts.ts';
import type { PaymentProvider } from '../providers/provider.ts';
import type { AttemptStep } from './step.ts';

function payUrlFor(ctx: Ctx, job: AttemptJob, redirectUrl?: string): string {
  return job.provider === 'midtrans' && redirectUrl
    ? redirectUrl
    : `${ctx.publicUrl}/pay/${job.paymentId}`;
}

/**
 * The provider's id of the attempt's payment. An attempt being undone whose creation never
 * got recorded has none: creating again with the same idempotency key returns the original
 * (or makes one), which can then be cancelled.
 */
export async function withRef(
  ctx: Ctx,
  provider: PaymentProvider,
  job: AttemptJob,
): Promise<AttemptJob & { ref: string }> {
  if (job.ref) return { ...job, ref: job.ref };
  const ref = (await provider.create(job, ctx.clock.now())).ref;
  await ctx.db.query(
    'UPDATE payment_attempts SET provider_ref = coalesce(provider_ref, $2) WHERE id = $1',
    [job.attemptId, ref],
  );
  return { ...job, ref };
}

export const authorise: AttemptStep = {
  name: 'authorise',
  async action(ctx, provider, job) {
    const created = await provider.create(job, ctx.clock.now());
    return {
      status: created.status,
      async write(tx, now) {
        // The ref is recorded whatever happened meanwhile: an attempt that expired while we
        // were creating it is now "voiding", and voiding needs to know what to cancel.
        await tx.query(
          `UPDATE payment_attempts SET provider_ref = coalesce(provider_ref, $2), redirect_url = $3,
             client_secret = $4, updated_at = $5 WHERE id = $1`,
          [
            job.attemptId,
            created.ref,
            created.redirectUrl ?? null,
            created.clientSecret ?? null,
            now,
          ],
        );
        // the pay link, unless the member has moved on to another attempt meanwhile
        const [p] = await tx.query<{ attempt: number }>(
          `UPDATE payments SET pay_url = $3, updated_at = $4 WHERE id = $1 AND attempt = $2 RETURNING attempt`,
          [job.paymentId, job.attempt, payUrlFor(ctx, job, created.redirectUrl), now],
        );
        return Boolean(p);
      },
    };
  },
  async undo(ctx, provider, job) {
    return { status: await provider.void(await withRef(ctx, provider, job)) };
  },
};
