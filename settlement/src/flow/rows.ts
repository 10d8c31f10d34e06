/** Row shapes shared by the flows, and the locking reads that fetch them. */
import type { Queryable } from '@patungan/db';
import type {
  PaymentMethod,
  PaymentProvider,
  PaymentStatus,
  SettlementStatus,
} from '@patungan/model';
import { notFound } from '../errors.ts';

// The settlement and payment vocabulary is the shared contract's (@patungan/model/contracts).
export type { PaymentStatus, SettlementStatus };
/** How a member pays (the contract's `PaymentMethod`). */
export type Method = PaymentMethod;

export type AttemptStatus =
  | 'creating'
  | 'pending'
  | 'authorized'
  | 'capturing'
  | 'captured'
  | 'declined'
  | 'voiding'
  | 'voided'
  | 'refunding'
  | 'refunded';

export interface SettlementRow {
  id: string;
  room_id: string;
  cart_version: string;
  store_id: string;
  organiser: string;
  currency: string;
  total: number;
  status: SettlementStatus;
  phase: 'open' | 'capturing' | 'done';
  hold_expires_at: Date;
  reason: string | null;
  /** Member ids whose share was still open when the settlement expired or was cancelled. */
  unpaid: string[] | null;
  /** When the hold was extended for a payment pending at a provider (at most once). */
  hold_extended_at: Date | null;
  pickup_code: string | null;
  /** The reference shoppers and staff both see (migration 3; every row has one). */
  order_ref: string;
  /** The member who collects at the store; null: the organiser. */
  collector: string | null;
  /** Every member in split order (migration 3; null on older rows). */
  members: { id: string; name: string }[] | null;
  created_at: Date;
  updated_at: Date;
}

export interface PaymentRow {
  id: string;
  settlement_id: string;
  member_id: string;
  member_name: string;
  position: number;
  method: Method;
  share: number;
  amount: number;
  currency: string;
  status: PaymentStatus;
  covered_by: string | null;
  attempt: number;
  pay_url: string | null;
}

export interface AttemptRow {
  id: string;
  payment_id: string;
  settlement_id: string;
  attempt: number;
  provider: PaymentProvider;
  amount: number;
  currency: string;
  status: AttemptStatus;
  provider_ref: string | null;
  redirect_url: string | null;
  client_secret: string | null;
}

/** Statuses that count a share as taken care of for the group. */
export const COVERING: readonly PaymentStatus[] = [
  'authorized',
  'captured',
  'due_at_store',
  'covered',
];
/** Statuses after which nothing more can be asked of the member's provider. */
export const FINAL_SETTLEMENT: readonly SettlementStatus[] = ['completed', 'expired', 'cancelled'];

// Lock order everywhere: settlement, then its payments, then attempts. One order means two
// transactions touching the same settlement wait for each other instead of deadlocking.
export async function lockSettlement(tx: Queryable, id: string): Promise<SettlementRow> {
  const [s] = await tx.query<SettlementRow>('SELECT * FROM settlements WHERE id = $1 FOR UPDATE', [
    id,
  ]);
  if (!s) throw notFound(`Settlement ${id}`);
  return s;
}

export async function lockPayments(tx: Queryable, settlementId: string): Promise<PaymentRow[]> {
  return tx.query<PaymentRow>(
    'SELECT * FROM payments WHERE settlement_id = $1 ORDER BY position FOR UPDATE',
    [settlementId],
  );
}

export async function setSettlement(
  tx: Queryable,
  id: string,
  fields: Partial<Pick<SettlementRow, 'status' | 'phase' | 'reason' | 'pickup_code'>>,
  now: Date,
): Promise<void> {
  const keys = Object.keys(fields) as (keyof typeof fields)[];
  const sets = keys.map((k, i) => `${k} = $${i + 3}`);
  await tx.query(
    `UPDATE settlements SET updated_at = $2${sets.map((s) => ', ' + s).join('')} WHERE id = $1`,
    [id, now, ...keys.map((k) => fields[k])],
  );
}
