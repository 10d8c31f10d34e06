/**
 * What a verified provider webhook changes (the provider's `webhook` method reads it; see
 * http/webhook-routes.ts). The event id is recorded in `webhook_events` in the same
 * transaction as the change, so a duplicate changes nothing, and the status goes through the
 * one state machine (transitions.ts), which never moves an attempt backwards.
 */
import type { Ctx } from '../context.ts';
import type {
  AttemptInfo,
  PaymentProvider,
  ProviderName,
  ProviderStatus,
  WebhookNotice,
} from '../providers/provider.ts';
import { applyProviderStatus } from './transitions.ts';

type PaymentNotice = Extract<WebhookNotice, { kind: 'payment' }>;

/**
 * Applies a verified notice and says what to answer the provider: `ignored` for an event
 * about nothing of ours, `duplicate` for an event id seen before (nothing changed).
 */
export async function receiveWebhook(
  ctx: Ctx,
  provider: PaymentProvider,
  notice: WebhookNotice,
): Promise<{ received: true; ignored: string } | { received: true; duplicate: boolean }> {
  if (notice.kind === 'ignored') return { received: true, ignored: notice.reason };
  const attemptId = await findAttempt(ctx, provider.name, notice);
  if (!attemptId) {
    ctx.log.warn({ provider: provider.name, ...notice.log }, `webhook for an ${notice.unknown}`);
    return { received: true, ignored: notice.unknown };
  }
  const { status, fresh } = await applyWebhook(ctx, provider, attemptId, notice);
  ctx.log.info(
    { provider: provider.name, ...notice.log, attemptId, status, duplicate: !fresh },
    'provider webhook',
  );
  return { received: true, duplicate: !fresh };
}

/** The attempt a notice is about (by the provider's ref, or our attempt id), or undefined. */
async function findAttempt(
  ctx: Ctx,
  provider: ProviderName,
  n: PaymentNotice,
): Promise<string | undefined> {
  const [a] = await ctx.db.query<{ id: string }>(
    `SELECT id FROM payment_attempts
     WHERE provider = $1 AND (provider_ref = $2 OR id = $3) LIMIT 1`,
    [provider, n.ref, n.attemptId ?? n.ref],
  );
  return a?.id;
}

/**
 * Applies a notice to its attempt: the status the event carries, else the provider's current
 * one. `fresh` is false for an event id seen before (nothing changed).
 */
async function applyWebhook(
  ctx: Ctx,
  provider: PaymentProvider,
  attemptId: string,
  n: PaymentNotice,
): Promise<{ status: ProviderStatus; fresh: boolean }> {
  const status =
    n.status ?? (await provider.status({ ...(await attemptInfo(ctx, attemptId)), ref: n.ref }));
  const fresh = await ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const inserted = await tx.query(
      `INSERT INTO webhook_events (provider, event_id, received_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING event_id`,
      [provider.name, n.eventId, now],
    );
    if (inserted.length === 0) return false;
    await tx.query(
      'UPDATE payment_attempts SET provider_ref = coalesce(provider_ref, $2) WHERE id = $1',
      [attemptId, n.ref],
    );
    await applyProviderStatus(ctx, tx, attemptId, status, now);
    return true;
  });
  if (fresh) ctx.kick();
  return { status, fresh };
}

async function attemptInfo(ctx: Ctx, attemptId: string): Promise<Omit<AttemptInfo, 'ref'>> {
  const [r] = await ctx.db.query<{
    id: string;
    payment_id: string;
    settlement_id: string;
    room_id: string;
    member_id: string;
    member_name: string;
    attempt: number;
    amount: number;
    currency: string;
    hold_expires_at: Date;
  }>(
    `SELECT a.id, a.payment_id, a.settlement_id, s.room_id, p.member_id, p.member_name, a.attempt, a.amount,
       a.currency, s.hold_expires_at
     FROM payment_attempts a JOIN payments p ON p.id = a.payment_id JOIN settlements s ON s.id = a.settlement_id
     WHERE a.id = $1`,
    [attemptId],
  );
  if (!r) throw new Error(`attempt ${attemptId} vanished`);
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
    holdExpiresAt: r.hold_expires_at,
  };
}
