/** Request schemas (zod). A failed parse answers 400 naming each bad field. */
import { z } from 'zod';
import { isCurrency, ROOM_ID_PATTERN } from '@patungan/model';

/**
 * PostgreSQL `text` cannot hold U+0000 (the database would refuse the row and the client
 * would see a 500): every string the service accepts is built on this one refinement, so a
 * NUL anywhere is a 400 naming the field.
 */
export const NUL_MESSAGE = 'must not contain NUL characters (\\u0000)';
export const text = (params?: Parameters<typeof z.string>[0]) =>
  z.string(params).refine((s) => !s.includes('\u0000'), NUL_MESSAGE);

const memberId = text().min(1).max(128);
export const METHODS = ['local', 'stripe', 'midtrans', 'store'] as const;
export const method = z.enum(METHODS);

export const snapshotSchema = z.object({
  roomId: z.string().regex(ROOM_ID_PATTERN, 'room ids are 1–64 of A–Z a–z 0–9 _ -'),
  cartVersion: text().min(1).max(128),
  currency: z.string().refine(isCurrency, 'unknown currency'),
  storeId: text({ error: 'pick a store first' }).min(1).max(64),
  organiser: memberId,
  split: z.object({
    mode: z.enum(['organiser', 'half', 'equal', 'items', 'shares']),
    shares: z.record(text(), z.number().int().nonnegative()).optional(),
    payer: memberId.optional(),
    partner: memberId.optional(),
    adjustments: z.record(text(), z.number().int()).optional(),
  }),
  members: z
    .array(z.object({ id: memberId, name: text().max(200), method: method.default('local') }))
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
});
export type Snapshot = z.infer<typeof snapshotSchema>;

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
  status: z.enum(['packed', 'ready_for_pickup', 'completed', 'cancelled']),
});
export const ordersQuery = z.object({
  status: z.enum(['paid', 'packed', 'ready_for_pickup', 'completed', 'cancelled']).optional(),
  page: intParam(1, 100_000).default(1),
  size: intParam(1, 100).default(20),
});
export const payBody = z.object({ action: z.enum(['authorize', 'decline']) });
export const cancelBody = z.object({ reason: text().max(500).optional() });
