/**
 * The settlement request and what comes back (docs/contracts.md "Settlement API" and "Between
 * the room and settlement"), as zod schemas: settlement validates `POST /settlements` with
 * {@link SettlementRequestSchema}, the room-server builds that body from the room and checks
 * the answer, settlement's outbox produces {@link SettlementPutSchema}'s body and the
 * room-server accepts it with the same schema.
 */
import { z } from 'zod';
import { isCurrency } from '../money.ts';
import { SPLIT_MODES } from '../split.ts';
import { ROOM_ID_PATTERN } from '../token.ts';
import { text } from './text.ts';
import { PAYMENT_METHODS, PAYMENT_STATUSES, SETTLEMENT_STATUSES } from './vocabulary.ts';

const memberId = text().min(1).max(128);

export const PaymentMethodSchema = z.enum(PAYMENT_METHODS);
export const PaymentStatusSchema = z.enum(PAYMENT_STATUSES);
export const SettlementStatusSchema = z.enum(SETTLEMENT_STATUSES);

// ------------------------------------------------------------ POST /settlements

/**
 * `POST /settlements` (service token, `Idempotency-Key`): the finalised cart snapshot. Prices
 * are not part of it: settlement takes them from its catalog.
 */
export const SettlementRequestSchema = z.object({
  roomId: z.string().regex(ROOM_ID_PATTERN, 'room ids are 1–64 of A–Z a–z 0–9 _ -'),
  cartVersion: text().min(1).max(128),
  currency: z.string().refine(isCurrency, 'unknown currency'),
  storeId: text({ error: 'pick a store first' }).min(1).max(64),
  organiser: memberId,
  split: z.object({
    mode: z.enum(SPLIT_MODES),
    shares: z.record(text(), z.number().int().nonnegative()).optional(),
    payer: memberId.optional(),
    partner: memberId.optional(),
    adjustments: z.record(text(), z.number().int()).optional(),
    /** Budgets per member and who pays their own overage (model's `applyBudgets`). */
    budgets: z.record(text(), z.number().int().positive()).optional(),
    paysOverage: z.array(memberId).max(100).optional(),
  }),
  members: z
    .array(
      z.object({
        id: memberId,
        name: text().max(200),
        /** Absent means `local`. */
        method: PaymentMethodSchema.default('local'),
      }),
    )
    .min(1)
    .max(100),
  lines: z
    .array(
      z.object({
        id: text().min(1).max(128),
        sku: text().min(1).max(64),
        qty: z.number().int().min(1).max(9999),
        addedBy: memberId,
        sharedWith: z.array(memberId).max(100).optional(),
        note: text().max(2000).optional(),
      }),
    )
    .min(1, 'the cart is empty')
    .max(500),
  /** Who collects at the store: one of `members`; absent means the organiser. */
  collector: memberId.optional(),
});
/** What a caller sends (a member's `method` may be left out). */
export type SettlementRequest = z.input<typeof SettlementRequestSchema>;
/** What settlement works with after validation (every member has a method). */
export type ParsedSettlementRequest = z.output<typeof SettlementRequestSchema>;

/**
 * One member's payment as settlement reports it: in `POST /settlements`' answer a list item
 * with `memberId` and `paymentId`; in a status delivered to a room the value of `payments`
 * keyed by member id. Fields beyond these pass through into the room.
 */
export const SettlementPaymentSchema = z.looseObject({
  memberId: z.string().optional(),
  paymentId: z.string().optional(),
  amount: z.number().int(),
  currency: z.string(),
  status: PaymentStatusSchema,
  method: PaymentMethodSchema,
  payUrl: z.string().optional(),
  /** Who paid this share for the member (`covered`). */
  coveredBy: z.string().optional(),
});
export type SettlementPayment = z.infer<typeof SettlementPaymentSchema>;

/** The record a cover leaves: the covered member owes the coverer this amount. */
export const CoverSchema = z.object({
  memberId: z.string(),
  coveredBy: z.string(),
  amount: z.number().int().nonnegative(),
  currency: z.string(),
  at: z.string(),
});
export type Cover = z.infer<typeof CoverSchema>;

/**
 * A settlement's room-facing state: `POST /settlements`' answer (`201`, or a replay's first
 * answer) and the `settlement` of a status delivered to a room. Only `id` and `status` are
 * always there; fields beyond these pass through.
 */
export const SettlementStateSchema = z.looseObject({
  id: z.string().min(1),
  status: SettlementStatusSchema,
  holdExpiresAt: z.string().nullable().optional(),
  /** Minor units. */
  total: z.number().int().optional(),
  currency: z.string().optional(),
  storeId: z.string().optional(),
  payments: z
    .union([z.record(z.string(), SettlementPaymentSchema), z.array(SettlementPaymentSchema)])
    .optional(),
  pickupCode: z.string().optional(),
  /** The order reference both the shoppers and the store's staff see. */
  orderRef: z.string().optional(),
  reason: z.string().optional(),
  /** Expired or cancelled: the member ids whose share was still open (the room names them). */
  unpaid: z.array(z.string()).optional(),
  /** The hold was extended once while a member paid at a provider. */
  holdExtended: z.boolean().optional(),
  /** Who covered whom: `memberId`'s share (`amount`, `currency`) was paid by `coveredBy`. */
  covers: z.array(CoverSchema).optional(),
});
export type SettlementState = z.infer<typeof SettlementStateSchema>;

// ------------------------------------------------------------ status into the room

/**
 * `PUT /rooms/<roomId>/settlement` (service token), from settlement's outbox: `seq` is the
 * outbox id, which never decreases, so the room ignores anything older than it has applied.
 */
export const SettlementPutSchema = z.object({
  seq: z.number().int().nonnegative(),
  settlement: SettlementStateSchema,
});
export type SettlementPut = z.infer<typeof SettlementPutSchema>;

/** What settlement's outbox sends as `settlement`: the full state, payments by member id. */
export interface SettlementStatusMessage extends SettlementState {
  holdExpiresAt: string;
  total: number;
  currency: string;
  storeId: string;
  payments: Record<string, SettlementPayment>;
}

// ------------------------------------------------------------ status to web (notifications)

/**
 * `POST <web>/internal/settlement-events` (service token), from settlement's outbox: every
 * status event in outbox order, a batch per request, at least once; `seq` is the outbox id, so
 * web ignores an event it has seen (settlement id + seq). Web derives the notifications from it.
 */
export const SettlementEventsSchema = z.object({
  events: z
    .array(
      z.object({
        seq: z.number().int().nonnegative(),
        roomId: z.string().min(1).max(64),
        settlement: SettlementStateSchema,
      }),
    )
    .max(500),
});
export type SettlementEvents = z.infer<typeof SettlementEventsSchema>;

// ------------------------------------------------------------ refusals

/** Every 4xx/5xx of settlement: `{error: {code, message, details?}}`. */
export const SettlementErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type SettlementErrorBody = z.infer<typeof SettlementErrorBodySchema>;

/** One product a stock refusal names: its name, what the cart wanted, what the store has. */
export const ShortItemSchema = z.object({
  sku: z.string(),
  name: z.string(),
  wanted: z.number().int(),
  available: z.number().int(),
});
export type ShortItem = z.infer<typeof ShortItemSchema>;

/**
 * `409 insufficient_stock`'s `details`: the store and each short product by name, so the room
 * can word the refusal without looking anything up.
 */
export const InsufficientStockDetailsSchema = z.looseObject({
  storeId: z.string(),
  storeName: z.string(),
  short: z.array(ShortItemSchema).min(1),
});
export type InsufficientStockDetails = z.infer<typeof InsufficientStockDetailsSchema>;

/** `409 settlement_ended`'s `details`: the key's settlement has ended (finalise anew). */
export const SettlementEndedDetailsSchema = z.looseObject({
  settlementId: z.string().min(1),
  status: SettlementStatusSchema.optional(),
});

/**
 * Why a finalise reopened the room, as data (`settlement.lastErrorDetails` in the room): a
 * code each reader's app words in its own language and, for a stock refusal, the store and
 * the short products by name.
 */
export interface RefusalDetails {
  code: string;
  storeId?: string;
  storeName?: string;
  short?: ShortItem[];
  /** `region_unavailable`: the slug of the store's region whose database is down. */
  region?: string;
}
