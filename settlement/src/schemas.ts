/**
 * Request schemas (zod). A failed parse answers 400 naming each bad field. The settlement
 * request itself (`POST /settlements`) and the NUL-free string every schema is built on are
 * the shared contract (`@patungan/model/contracts`); the rest are settlement's own routes.
 */
import { z } from 'zod';
import {
  NUL_MESSAGE,
  ORDER_STATUSES,
  PaymentMethodSchema,
  STAFF_ORDER_MOVES,
  SettlementRequestSchema,
  text,
  type ParsedSettlementRequest,
} from '@patungan/model/contracts';

export { NUL_MESSAGE, text };
export const method = PaymentMethodSchema;

/** `POST /settlements`' body: the finalised cart snapshot (docs/contracts.md "Settlement API"). */
export const snapshotSchema = SettlementRequestSchema;
export type Snapshot = ParsedSettlementRequest;

const intParam = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const productQuery = z.object({
  q: text().max(200).optional(),
  category: text().max(64).optional(),
  minPrice: intParam(0, Number.MAX_SAFE_INTEGER).optional(),
  maxPrice: intParam(0, Number.MAX_SAFE_INTEGER).optional(),
  page: intParam(1, 100_000).default(1),
  size: intParam(1, 100).default(24),
});

export const storesQuery = z.object({
  lat: z.coerce.number().min(-90).max(90).optional(),
  lng: z.coerce.number().min(-180).max(180).optional(),
  // "a,b" or with quantities "a:2,b:1"
  skus: text().max(5000).optional(),
  limit: intParam(1, 100).default(20),
});

/** Stores one live stock stream watches (`GET /stock/stream?stores=a,b`). */
export const MAX_STREAM_STORES = 10;
export const streamQuery = z.object({
  stores: text()
    .regex(/^[A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64})*$/, 'a comma list of store ids')
    .refine((v) => v.split(',').length <= MAX_STREAM_STORES, {
      message: `at most ${MAX_STREAM_STORES} stores`,
    }),
});

export const stockBody = z.object({ onHand: z.number().int().min(0).max(1_000_000) });
export const retryBody = z.object({ method });
export const coverBody = z.object({ method: method.optional() });
export const orderStatusBody = z.object({
  status: z.enum(STAFF_ORDER_MOVES),
  /** The shoppers' pickup code: required to move to `completed`. */
  pickupCode: text().max(32).optional(),
});
export const ordersQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  page: intParam(1, 100_000).default(1),
  size: intParam(1, 100).default(20),
});
export const payBody = z.object({ action: z.enum(['authorize', 'decline']) });
export const cancelBody = z.object({ reason: text().max(500).optional() });
