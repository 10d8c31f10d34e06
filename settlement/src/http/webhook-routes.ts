/**
 * Provider webhooks. Both are verified before anything else (bad signature → 400, nothing
 * changes), then confirmed by asking the provider for the payment's current status — so a
 * replayed, duplicated or out-of-order notification can only ever apply the truth, and the
 * state machine (transitions.ts) never moves an attempt backwards. Event ids are recorded
 * in `webhook_events` in the same transaction as the change.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Hono } from 'hono';
import { z } from 'zod';
import { SettlementError } from '../errors.ts';
import { text } from '../schemas.ts';
import { applyProviderStatus } from '../flow/transitions.ts';
import { midtransSignature } from '../providers/midtrans.ts';
import type { ProviderName, ProviderStatus } from '../providers/provider.ts';
import { parse, type AppDeps, type Env } from './support.ts';

const midtransNotification = z.object({
  order_id: text().min(1).max(50),
  status_code: text().min(1),
  gross_amount: text().min(1),
  signature_key: text().min(1),
  transaction_status: text().optional(),
});

export function webhookRoutes(app: Hono<Env>, d: AppDeps): void {
  const { ctx } = d;

  async function findAttempt(provider: ProviderName, ref: string, attemptId?: string) {
    const [a] = await ctx.db.query<{ id: string; provider_ref: string | null }>(
      `SELECT id, provider_ref FROM payment_attempts
       WHERE provider = $1 AND (provider_ref = $2 OR id = $3) LIMIT 1`,
      [provider, ref, attemptId ?? ref],
    );
    return a;
  }

  async function record(
    provider: ProviderName,
    eventId: string,
    attemptId: string,
    ref: string,
    ps: ProviderStatus,
  ) {
    const fresh = await ctx.db.transaction(async (tx) => {
      const now = ctx.clock.now();
      const inserted = await tx.query(
        `INSERT INTO webhook_events (provider, event_id, received_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING event_id`,
        [provider, eventId, now],
      );
      if (inserted.length === 0) return false;
      await tx.query(
        'UPDATE payment_attempts SET provider_ref = coalesce(provider_ref, $2) WHERE id = $1',
        [attemptId, ref],
      );
      await applyProviderStatus(ctx, tx, attemptId, ps, now);
      return true;
    });
    if (fresh) ctx.kick();
    return fresh;
  }

  app.post('/webhooks/stripe', async (c) => {
    if (!d.stripe?.webhookSecret)
      throw new SettlementError(404, 'not_found', 'Stripe is not enabled here');
    const raw = await c.req.text();
    const sig = c.req.header('stripe-signature') ?? '';
    let event;
    try {
      event = d.stripe.client.webhooks.constructEvent(raw, sig, d.stripe.webhookSecret);
    } catch {
      throw new SettlementError(
        400,
        'bad_signature',
        'The Stripe-Signature header does not verify',
      );
    }
    const obj = event.data.object as {
      id?: string;
      object?: string;
      payment_intent?: unknown;
      metadata?: Record<string, string>;
    };
    const intentId =
      obj.object === 'payment_intent'
        ? obj.id
        : typeof obj.payment_intent === 'string'
          ? obj.payment_intent
          : undefined;
    if (!intentId) return c.json({ received: true, ignored: event.type });
    const a = await findAttempt('stripe', intentId, obj.metadata?.attempt_id);
    if (!a) {
      ctx.log.warn({ eventId: event.id, intentId }, 'stripe webhook for an unknown payment intent');
      return c.json({ received: true, ignored: 'unknown payment intent' });
    }
    const provider = ctx.providers.stripe!;
    const ps: ProviderStatus =
      event.type === 'charge.refunded'
        ? 'refunded'
        : await provider.status({ ...(await attemptInfo(a.id)), ref: intentId });
    const fresh = await record('stripe', event.id, a.id, intentId, ps);
    ctx.log.info(
      { eventId: event.id, type: event.type, attemptId: a.id, status: ps, duplicate: !fresh },
      'stripe webhook',
    );
    return c.json({ received: true, duplicate: !fresh });
  });

  app.post('/webhooks/midtrans', async (c) => {
    const serverKey = d.midtransServerKey;
    if (!serverKey) throw new SettlementError(404, 'not_found', 'Midtrans is not enabled here');
    const raw = await c.req.text();
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new SettlementError(400, 'invalid_request', 'The body is not valid JSON');
    }
    const n = parse(midtransNotification, body);
    const expected = Buffer.from(midtransSignature(n, serverKey));
    const given = Buffer.from(n.signature_key);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new SettlementError(400, 'bad_signature', 'signature_key does not verify');
    }
    const a = await findAttempt('midtrans', n.order_id);
    if (!a) {
      ctx.log.warn({ orderId: n.order_id }, 'midtrans notification for an unknown order');
      return c.json({ received: true, ignored: 'unknown order' });
    }
    // The notification says something happened; the status API says what is true now.
    const ps = await ctx.providers.midtrans!.status({
      ...(await attemptInfo(a.id)),
      ref: n.order_id,
    });
    const eventId = createHash('sha256').update(raw).digest('hex');
    const fresh = await record('midtrans', eventId, a.id, n.order_id, ps);
    ctx.log.info(
      { orderId: n.order_id, attemptId: a.id, status: ps, duplicate: !fresh },
      'midtrans notification',
    );
    return c.json({ received: true, duplicate: !fresh });
  });

  async function attemptInfo(attemptId: string) {
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
}
