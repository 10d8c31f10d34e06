/**
 * Stripe: one PaymentIntent per attempt with `capture_method: 'manual'` — authorised when the
 * member pays, captured only when the whole group is covered, cancelled otherwise. Amounts
 * convert to Stripe's units here and nowhere else.
 */
import Stripe from 'stripe';
import { currencyExponent, type Money } from '@patungan/model';
import { SettlementError } from '../errors.ts';
import {
  ProviderError,
  idempotencyKey,
  type PaymentProvider,
  type ProviderStatus,
  type WebhookNotice,
  type WebhookRequest,
} from './provider.ts';

export interface StripeConfig {
  secretKey: string;
  webhookSecret?: string;
  /** API host override (tests point this at a local server). */
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
}

// https://docs.stripe.com/currencies: zero-decimal and three-decimal currencies; every other
// currency (IDR included) counts in hundredths at Stripe.
const ZERO_DECIMAL = new Set(
  'BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF'.split(' '),
);
const THREE_DECIMAL = new Set('BHD JOD KWD OMR TND'.split(' '));

export function stripeExponent(currency: string): number {
  if (ZERO_DECIMAL.has(currency)) return 0;
  if (THREE_DECIMAL.has(currency)) return 3;
  return 2;
}

/** Patungan minor units → Stripe's amount for that currency (IDR 15000 → 1500000). */
export function toStripeAmount(m: Money): number {
  const diff = stripeExponent(m.currency) - currencyExponent(m.currency);
  const amount = diff >= 0 ? m.amount * 10 ** diff : m.amount / 10 ** -diff;
  if (!Number.isSafeInteger(amount)) {
    throw new ProviderError(
      'stripe',
      false,
      `${m.amount} ${m.currency} has no exact Stripe amount`,
    );
  }
  // Stripe accepts three-decimal amounts only in multiples of 10.
  if (THREE_DECIMAL.has(m.currency) && amount % 10 !== 0) {
    throw new ProviderError('stripe', false, `${m.currency} amounts must end in 0 at Stripe`);
  }
  return amount;
}

/** Stripe's amount → Patungan minor units. */
export function fromStripeAmount(amount: number, currency: string): number {
  const diff = stripeExponent(currency) - currencyExponent(currency);
  return diff >= 0 ? amount / 10 ** diff : amount * 10 ** -diff;
}

/** Intent statuses of a member who is paying right now (bank redirect, 3-D Secure, processing). */
const IN_PROGRESS = new Set<string>(['processing', 'requires_action', 'requires_confirmation']);

export function mapIntentStatus(
  pi: Pick<Stripe.PaymentIntent, 'status' | 'last_payment_error'>,
): ProviderStatus {
  switch (pi.status) {
    case 'requires_capture':
      return 'authorized';
    case 'succeeded':
      return 'captured';
    case 'canceled':
      return 'voided';
    case 'requires_payment_method':
      // back to "needs a card" after a failed try means the card was declined
      return pi.last_payment_error ? 'declined' : 'pending';
    default:
      return 'pending';
  }
}

function wrap(err: unknown): ProviderError {
  if (err instanceof Stripe.errors.StripeError) {
    const transient =
      err instanceof Stripe.errors.StripeConnectionError ||
      err instanceof Stripe.errors.StripeAPIError ||
      err instanceof Stripe.errors.StripeRateLimitError ||
      (err.statusCode ?? 500) >= 500;
    return new ProviderError('stripe', transient, `stripe: ${err.message}`);
  }
  return new ProviderError(
    'stripe',
    true,
    `stripe: ${err instanceof Error ? err.message : String(err)}`,
  );
}

export function createStripeClient(c: StripeConfig): Stripe {
  return new Stripe(c.secretKey, {
    maxNetworkRetries: 1,
    timeout: 15_000,
    ...(c.host ? { host: c.host } : {}),
    ...(c.port ? { port: c.port } : {}),
    ...(c.protocol ? { protocol: c.protocol } : {}),
  });
}

/**
 * A webhook event (`POST /webhooks/stripe`): the raw body verified with
 * `stripe.webhooks.constructEvent` and the endpoint's secret (`400 bad_signature`
 * otherwise). Events about a payment intent (its own or a charge's) name it; the route then
 * asks the intent's current status, except for `charge.refunded`, which is the refund itself.
 */
export function readStripeEvent(
  stripe: Stripe,
  webhookSecret: string,
  req: WebhookRequest,
): WebhookNotice {
  let event: Stripe.Event;
  try {
    event = stripe.webhooks.constructEvent(
      req.body,
      req.header('stripe-signature') ?? '',
      webhookSecret,
    );
  } catch {
    throw new SettlementError(400, 'bad_signature', 'The Stripe-Signature header does not verify');
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
  if (!intentId) return { kind: 'ignored', reason: event.type };
  const attemptId = obj.metadata?.attempt_id;
  return {
    kind: 'payment',
    eventId: event.id,
    ref: intentId,
    ...(attemptId ? { attemptId } : {}),
    ...(event.type === 'charge.refunded' ? { status: 'refunded' as const } : {}),
    log: { eventId: event.id, type: event.type, intentId },
    unknown: 'unknown payment intent',
  };
}

export function stripeProvider(c: StripeConfig, stripe = createStripeClient(c)): PaymentProvider {
  const webhookSecret = c.webhookSecret;
  const retrieve = async (ref: string) =>
    mapIntentStatus(await stripe.paymentIntents.retrieve(ref));
  return {
    name: 'stripe',
    async create(a) {
      try {
        const pi = await stripe.paymentIntents.create(
          {
            amount: toStripeAmount({ amount: a.amount, currency: a.currency }),
            currency: a.currency.toLowerCase(),
            capture_method: 'manual',
            description: `Patungan share of ${a.memberName}`,
            metadata: {
              room_id: a.roomId,
              settlement_id: a.settlementId,
              member_id: a.memberId,
              attempt_id: a.attemptId,
              payment_id: a.paymentId,
            },
          },
          { idempotencyKey: idempotencyKey(a, 'create') },
        );
        return {
          ref: pi.id,
          status: mapIntentStatus(pi),
          ...(pi.client_secret ? { clientSecret: pi.client_secret } : {}),
        };
      } catch (err) {
        throw err instanceof ProviderError ? err : wrap(err);
      }
    },
    async capture(a) {
      try {
        return mapIntentStatus(
          await stripe.paymentIntents.capture(
            a.ref,
            {},
            { idempotencyKey: idempotencyKey(a, 'capture') },
          ),
        );
      } catch (err) {
        const e = wrap(err);
        if (e.transient) throw e;
        // Already captured, cancelled or expired: the intent itself says where it stands.
        return retrieve(a.ref).catch((e2: unknown) => Promise.reject(wrap(e2)));
      }
    },
    async void(a) {
      try {
        return mapIntentStatus(
          await stripe.paymentIntents.cancel(
            a.ref,
            { cancellation_reason: 'abandoned' },
            { idempotencyKey: idempotencyKey(a, 'cancel') },
          ),
        );
      } catch (err) {
        const e = wrap(err);
        if (e.transient) throw e;
        const s = await retrieve(a.ref).catch((e2: unknown) => Promise.reject(wrap(e2)));
        return s === 'pending' || s === 'declined' ? 'voided' : s;
      }
    },
    async refund(a) {
      try {
        await stripe.refunds.create(
          {
            payment_intent: a.ref,
            metadata: { settlement_id: a.settlementId, member_id: a.memberId },
          },
          { idempotencyKey: idempotencyKey(a, 'refund') },
        );
        return 'refunded';
      } catch (err) {
        throw wrap(err);
      }
    },
    async status(a) {
      try {
        return await retrieve(a.ref);
      } catch (err) {
        throw wrap(err);
      }
    },
    async inProgress(a) {
      try {
        const pi = await stripe.paymentIntents.retrieve(a.ref);
        return IN_PROGRESS.has(pi.status);
      } catch (err) {
        throw wrap(err);
      }
    },
    // Without the endpoint's secret no event can be verified: webhooks are off (404).
    ...(webhookSecret
      ? { webhook: (req: WebhookRequest) => readStripeEvent(stripe, webhookSecret, req) }
      : {}),
  };
}
