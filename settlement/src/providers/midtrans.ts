/**
 * Midtrans: one Snap transaction per attempt. Cards are pre-authorised (`type: 'authorize'`)
 * and captured through the Core API when the group is covered; methods that settle at once
 * (virtual accounts, QRIS, e-wallets) arrive as captured and are refunded if the group fails.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import midtrans from 'midtrans-client';
import { z } from 'zod';
import { SettlementError } from '../errors.ts';
import { text } from '../schemas.ts';
import { parse } from '../validate.ts';
import {
  ProviderError,
  type PaymentProvider,
  type ProviderStatus,
  type WebhookNotice,
  type WebhookRequest,
} from './provider.ts';

export interface MidtransConfig {
  serverKey: string;
  clientKey?: string;
  isProduction?: boolean;
  /** Base URL overrides (tests point these at a local server). */
  coreBaseUrl?: string;
  snapBaseUrl?: string;
  /**
   * Snap's `enabled_payments`: the channels the member may choose on Snap's page. Default
   * {@link MIDTRANS_DEFAULT_PAYMENTS} (QRIS, e-wallets, bank transfer / virtual accounts, cards).
   */
  enabledPayments?: readonly string[];
}

/** Indonesian channels offered through Snap unless MIDTRANS_ENABLED_PAYMENTS says otherwise. */
export const MIDTRANS_DEFAULT_PAYMENTS: readonly string[] = [
  'other_qris',
  'gopay',
  'shopeepay',
  'bca_va',
  'bni_va',
  'bri_va',
  'permata_va',
  'echannel',
  'other_va',
  'credit_card',
];

/** `signature_key` of a notification: SHA-512(order_id + status_code + gross_amount + server key). */
export function midtransSignature(
  n: { order_id: string; status_code: string; gross_amount: string },
  serverKey: string,
): string {
  return createHash('sha512')
    .update(n.order_id + n.status_code + n.gross_amount + serverKey)
    .digest('hex');
}

/** Maps a Midtrans transaction to our status; a fraud status other than accept is not paid. */
export function mapMidtransStatus(t: {
  transaction_status?: unknown;
  fraud_status?: unknown;
}): ProviderStatus {
  const fraud = typeof t.fraud_status === 'string' ? t.fraud_status : undefined;
  const fraudOk = fraud === undefined || fraud === 'accept';
  switch (t.transaction_status) {
    case 'authorize':
      return fraudOk ? 'authorized' : fraud === 'deny' ? 'declined' : 'pending';
    case 'capture':
    case 'settlement':
      return fraudOk ? 'captured' : fraud === 'deny' ? 'declined' : 'pending';
    case 'deny':
    case 'failure':
      return 'declined';
    case 'cancel':
    case 'expire':
      return 'voided';
    case 'refund':
    case 'partial_refund':
      return 'refunded';
    default:
      return 'pending';
  }
}

const notification = z.object({
  order_id: text().min(1).max(50),
  status_code: text().min(1),
  gross_amount: text().min(1),
  signature_key: text().min(1),
  transaction_status: text().optional(),
});

/**
 * A payment notification (`POST /webhooks/midtrans`): JSON whose `signature_key` must verify
 * with the server key (`400 bad_signature` otherwise). It only says that order `order_id`
 * changed; the status API says to what (the route asks `status`). The event id is the hash
 * of the body, so a redelivered notification is recorded once.
 */
export function readMidtransNotification(req: WebhookRequest, serverKey: string): WebhookNotice {
  let body: unknown;
  try {
    body = JSON.parse(req.body);
  } catch {
    throw new SettlementError(400, 'invalid_request', 'The body is not valid JSON');
  }
  const n = parse(notification, body);
  const expected = Buffer.from(midtransSignature(n, serverKey));
  const given = Buffer.from(n.signature_key);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new SettlementError(400, 'bad_signature', 'signature_key does not verify');
  }
  return {
    kind: 'payment',
    eventId: createHash('sha256').update(req.body).digest('hex'),
    // the order id is the attempt id (see create)
    ref: n.order_id,
    log: { orderId: n.order_id },
    unknown: 'unknown order',
  };
}

function wrap(err: unknown): ProviderError {
  const code =
    err && typeof err === 'object' && 'httpStatusCode' in err ? Number(err.httpStatusCode) : NaN;
  const transient = !Number.isFinite(code) || code >= 500 || code === 429;
  return new ProviderError(
    'midtrans',
    transient,
    `midtrans: ${err instanceof Error ? err.message : String(err)}`,
  );
}

/** Snap's expiry start time: `yyyy-MM-dd hh:mm:ss +0700` (Jakarta). */
function jakartaTime(d: Date): string {
  const j = new Date(d.getTime() + 7 * 3600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${j.getUTCFullYear()}-${p(j.getUTCMonth() + 1)}-${p(j.getUTCDate())} ${p(j.getUTCHours())}:${p(j.getUTCMinutes())}:${p(j.getUTCSeconds())} +0700`;
}

export function midtransProvider(c: MidtransConfig): PaymentProvider {
  const opts = {
    isProduction: c.isProduction ?? false,
    serverKey: c.serverKey,
    clientKey: c.clientKey ?? '',
  };
  const snap = new midtrans.Snap(opts);
  const core = new midtrans.CoreApi(opts);
  // midtrans-client reads its base URLs from the instance's apiConfig on every call.
  if (c.snapBaseUrl) snap.apiConfig.getSnapApiBaseUrl = () => c.snapBaseUrl!;
  if (c.coreBaseUrl) core.apiConfig.getCoreApiBaseUrl = () => c.coreBaseUrl!;
  const status = async (ref: string) => {
    try {
      return await core.transaction.status(ref);
    } catch (err) {
      throw wrap(err);
    }
  };
  return {
    name: 'midtrans',
    async create(a, now) {
      if (a.currency !== 'IDR') {
        throw new ProviderError('midtrans', false, 'Midtrans takes rupiah (IDR) only');
      }
      const minutes = Math.max(1, Math.ceil((a.holdExpiresAt.getTime() - now.getTime()) / 60_000));
      try {
        const res = await snap.createTransaction({
          // the attempt id is unique and short (order_id allows at most 50 characters)
          transaction_details: { order_id: a.attemptId, gross_amount: a.amount },
          item_details: [
            {
              id: a.settlementId.slice(0, 50),
              price: a.amount,
              quantity: 1,
              name: `Patungan: ${a.memberName}`.slice(0, 50),
            },
          ],
          enabled_payments: [...(c.enabledPayments ?? MIDTRANS_DEFAULT_PAYMENTS)],
          credit_card: { secure: true, type: 'authorize' },
          expiry: { start_time: jakartaTime(now), unit: 'minute', duration: minutes },
          custom_field1: a.roomId,
          custom_field2: a.settlementId,
          custom_field3: a.memberId,
        });
        return { ref: a.attemptId, status: 'pending', redirectUrl: res.redirect_url };
      } catch (err) {
        // Snap has no idempotency key and refuses a second transaction with the same
        // order_id. That means an earlier call (from a process that died before recording
        // it) created it and its pay link is lost: call the attempt declined so the member
        // can retry with a fresh attempt (a new order_id). Nobody holds the lost link, so
        // nobody can pay it.
        if (
          err instanceof Error &&
          /order_id has already been taken|sudah digunakan/i.test(err.message)
        ) {
          return { ref: a.attemptId, status: 'declined' };
        }
        throw wrap(err);
      }
    },
    async capture(a) {
      const t = await status(a.ref);
      const s = mapMidtransStatus(t);
      if (s !== 'authorized') return s;
      try {
        return mapMidtransStatus(
          await core.capture({ transaction_id: t.transaction_id, gross_amount: a.amount }),
        );
      } catch (err) {
        const e = wrap(err);
        if (e.transient) throw e;
        return mapMidtransStatus(await status(a.ref));
      }
    },
    async void(a) {
      let s: ProviderStatus;
      try {
        s = mapMidtransStatus(await status(a.ref));
      } catch (err) {
        // 404: the customer never opened the payment page, so nothing exists to void
        if (err instanceof ProviderError && !err.transient) return 'voided';
        throw err;
      }
      if (s !== 'pending' && s !== 'authorized') return s === 'declined' ? 'voided' : s;
      try {
        const res =
          s === 'authorized'
            ? await core.transaction.cancel(a.ref)
            : await core.transaction.expire(a.ref);
        const next = mapMidtransStatus(res);
        return next === 'pending' || next === 'declined' ? 'voided' : next;
      } catch (err) {
        throw wrap(err);
      }
    },
    async refund(a) {
      try {
        await core.transaction.refund(a.ref, {
          refund_key: `${a.attemptId}-refund`,
          amount: a.amount,
          reason: 'Patungan group did not complete',
        });
        return 'refunded';
      } catch (err) {
        throw wrap(err);
      }
    },
    async status(a) {
      return mapMidtransStatus(await status(a.ref));
    },
    async inProgress(a) {
      try {
        // `pending`: the member chose a channel on Snap (a virtual account number or a QRIS
        // code was issued) and the bank or wallet has not settled yet.
        return (await status(a.ref)).transaction_status === 'pending';
      } catch (err) {
        // 404: the member never chose a channel on Snap
        if (err instanceof ProviderError && !err.transient) return false;
        throw err;
      }
    },
    webhook: (req) => readMidtransNotification(req, c.serverKey),
  };
}
