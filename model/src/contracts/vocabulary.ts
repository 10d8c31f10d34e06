/**
 * The words the parts say to each other about a checkout (docs/contracts.md "Settlement API" ›
 * "Vocabulary"), each written once as a `const` array with its type derived from it: add or
 * rename a status here and the compiler finds every place in every part that must follow.
 * Plain values only (no zod, no node): the room page's browser bundle imports this.
 */

/** A room's `meta.status` (docs/contracts.md "Room document"). */
export const ROOM_STATUSES = ['open', 'locked', 'settling', 'completed'] as const;
export type RoomStatus = (typeof ROOM_STATUSES)[number];

/** A settlement's status: `awaiting_payment` → `paid` → `packed` → `ready_for_pickup` → `completed`, or `expired`, `cancelled`. */
export const SETTLEMENT_STATUSES = [
  'awaiting_payment',
  'paid',
  'packed',
  'ready_for_pickup',
  'completed',
  'expired',
  'cancelled',
] as const;
export type SettlementStatus = (typeof SETTLEMENT_STATUSES)[number];

/** Statuses after which a settlement never changes again. */
export const FINAL_SETTLEMENT_STATUSES = [
  'completed',
  'expired',
  'cancelled',
] as const satisfies readonly SettlementStatus[];

/** Statuses that end a settlement without the group completing: the room is `open` again. */
export const ENDED_SETTLEMENT_STATUSES = [
  'expired',
  'cancelled',
] as const satisfies readonly SettlementStatus[];

/** The statuses a store's order can have (a settlement from `paid` on, as staff see it). */
export const ORDER_STATUSES = [
  'paid',
  'packed',
  'ready_for_pickup',
  'completed',
  'cancelled',
] as const satisfies readonly SettlementStatus[];
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Where staff may move an order (`POST /orders/<id>/status`). */
export const STAFF_ORDER_MOVES = [
  'packed',
  'ready_for_pickup',
  'completed',
  'cancelled',
] as const satisfies readonly OrderStatus[];
export type StaffOrderMove = (typeof STAFF_ORDER_MOVES)[number];

/** One member's payment of their share. */
export const PAYMENT_STATUSES = [
  'pending',
  'authorized',
  'captured',
  'declined',
  'voided',
  'refunded',
  'due_at_store',
  'covered',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** How a member pays their share (`members[<id>].method`; absent means `local`). */
export const PAYMENT_METHODS = ['local', 'stripe', 'midtrans', 'store'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** The methods a payment provider takes (`store` is paid at the counter, no provider). */
export const PAYMENT_PROVIDERS = [
  'local',
  'stripe',
  'midtrans',
] as const satisfies readonly PaymentMethod[];
export type PaymentProvider = (typeof PAYMENT_PROVIDERS)[number];

const includes =
  <T extends string>(list: readonly T[]) =>
  (v: unknown): v is T =>
    typeof v === 'string' && (list as readonly string[]).includes(v);

export const isRoomStatus = includes(ROOM_STATUSES);
export const isSettlementStatus = includes(SETTLEMENT_STATUSES);
export const isPaymentStatus = includes(PAYMENT_STATUSES);
export const isPaymentMethod = includes(PAYMENT_METHODS);

/**
 * The room status a settlement status implies (docs/contracts.md "Between the room and
 * settlement"): `completed` → `completed`; `expired`, `cancelled` → `open`; the rest `settling`.
 */
export function roomStatusFor(s: SettlementStatus): RoomStatus {
  return s === 'completed'
    ? 'completed'
    : (ENDED_SETTLEMENT_STATUSES as readonly string[]).includes(s)
      ? 'open'
      : 'settling';
}

/**
 * The machine codes of settlement's refusals (`{error: {code, message, details?}}`); a client
 * may meet others from a newer settlement, so readers treat the code as an open string.
 */
export const SETTLEMENT_ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'unknown_sku',
  'unknown_store',
  'insufficient_stock',
  'below_reserved',
  'invalid_rows',
  'idempotency_key_reused',
  'idempotency_key_required',
  'invalid_split',
  'currency_mismatch',
  'method_unavailable',
  'invalid_state',
  'bad_signature',
  'provider_error',
  'conflict',
  'settlement_ended',
  'pickup_code_mismatch',
  'pickup_code_locked',
  'payload_too_large',
  'rate_limited',
  'region_unavailable',
  'internal',
] as const;
export type SettlementErrorCode = (typeof SETTLEMENT_ERROR_CODES)[number];
