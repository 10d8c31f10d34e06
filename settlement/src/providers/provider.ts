/**
 * One interface, three payment providers. A provider knows nothing about settlements: it
 * creates, captures, voids and refunds one payment attempt, and says where that attempt
 * stands. Every call is safe to repeat (stable idempotency keys), which is what lets a
 * restarted worker simply try again.
 */
import type { PaymentProvider as ContractProvider } from '@patungan/model';

/** The contract's payment providers (every method but `store`). */
export type ProviderName = ContractProvider;
export type ProviderStatus =
  'pending' | 'authorized' | 'captured' | 'declined' | 'voided' | 'refunded';

export interface AttemptInfo {
  attemptId: string;
  paymentId: string;
  settlementId: string;
  roomId: string;
  memberId: string;
  memberName: string;
  /** 1, 2, … per member: a retry or a cover makes a new attempt. */
  attempt: number;
  /** In Patungan's minor unit (IDR: whole rupiah). */
  amount: number;
  currency: string;
  /** The provider's id once created. */
  ref: string | null;
  holdExpiresAt: Date;
}

export interface Created {
  ref: string;
  status: ProviderStatus;
  redirectUrl?: string;
  clientSecret?: string;
}

/** A webhook request as the provider sees it: the raw body (signatures cover its bytes). */
export interface WebhookRequest {
  body: string;
  header(name: string): string | undefined;
}

/**
 * What a verified webhook says. `payment`: something happened to the payment `ref` (our
 * attempt id when the event names it); `status` only when the event itself is the truth
 * (a refund), otherwise the provider's `status` call is asked, so a replayed or reordered
 * event can only apply what is true now. `ignored`: nothing for us (answered 200).
 */
export type WebhookNotice =
  | {
      kind: 'payment';
      /** Unique per event: a repeat is recorded once and changes nothing. */
      eventId: string;
      ref: string;
      attemptId?: string;
      status?: ProviderStatus;
      /** Names the event in logs (event id and type, order id). */
      log: Record<string, unknown>;
      /** Answered as `ignored` when no attempt has this ref. */
      unknown: string;
    }
  | { kind: 'ignored'; reason: string };

export interface PaymentProvider {
  readonly name: ProviderName;
  create(a: AttemptInfo, now: Date): Promise<Created>;
  capture(a: AttemptInfo & { ref: string }): Promise<ProviderStatus>;
  void(a: AttemptInfo & { ref: string }): Promise<ProviderStatus>;
  refund(a: AttemptInfo & { ref: string }): Promise<ProviderStatus>;
  status(a: AttemptInfo & { ref: string }): Promise<ProviderStatus>;
  /**
   * Whether the member has started paying at the provider and the money is on its way (a
   * Midtrans virtual account or QRIS issued, a Stripe payment processing or in 3-D Secure):
   * the hold is then extended once (docs/contracts.md "Payments window"). Absent: never.
   */
  inProgress?(a: AttemptInfo & { ref: string }): Promise<boolean>;
  /**
   * Verifies and reads one webhook delivery (`POST /webhooks/<name>`). Throws a
   * SettlementError for a bad signature or body (400). Absent: this provider takes no
   * webhooks here (404).
   */
  webhook?(req: WebhookRequest): WebhookNotice | Promise<WebhookNotice>;
}

/**
 * `transient`: worth retrying (network, 5xx, rate limit). Otherwise the provider refused
 * for good (a declined card, an invalid request) and retrying the same call cannot help.
 */
export class ProviderError extends Error {
  constructor(
    readonly provider: ProviderName,
    readonly transient: boolean,
    message: string,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** The stable key of one operation on one attempt: settlement + member + attempt (+ op). */
export const idempotencyKey = (a: AttemptInfo, op: string) =>
  `${a.settlementId}:${a.memberId}:${a.attempt}:${op}`;
