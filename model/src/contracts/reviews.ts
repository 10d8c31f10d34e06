/**
 * Verified-purchase reviews and a shopper's order history (docs/contracts.md "Reviews" and
 * "Order history"): settlement validates review writes with {@link ReviewBodySchema} and
 * answers the shapes below; web's server reads them through the settlement client.
 */
import { z } from 'zod';
import { text } from './text.ts';
import { ORDER_STATUSES, PAYMENT_METHODS, PAYMENT_STATUSES } from './vocabulary.ts';

/** A review's text is at most this many characters (after trimming). */
export const REVIEW_TEXT_MAX = 1000;

/**
 * Anything that looks like markup: a `<` starting a tag, a closing tag, a comment or a
 * declaration. Reviews are plain text; pages escape them anyway, this keeps markup out of
 * the data for every other reader (exports, staff tools, e-mails).
 */
const MARKUP = /<\s*[a-z/!?]/i;

/** `POST /products/<sku>/reviews`: 1–5 stars and an optional plain text. */
export const ReviewBodySchema = z.object({
  rating: z.number().int().min(1).max(5),
  text: text()
    .transform((s) => s.trim())
    .pipe(
      z
        .string()
        .max(REVIEW_TEXT_MAX, `at most ${REVIEW_TEXT_MAX} characters`)
        .refine((s) => !MARKUP.test(s), 'plain text only: no HTML'),
    )
    .optional(),
});
export type ReviewBody = z.infer<typeof ReviewBodySchema>;

/** One review as anyone sees it (`GET /products/<sku>/reviews`): the reviewer's display name. */
export const ReviewSchema = z.object({
  sku: z.string(),
  name: z.string(),
  rating: z.number().int().min(1).max(5),
  text: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Review = z.infer<typeof ReviewSchema>;

/** `GET /products/<sku>/reviews` → the newest reviews first, and the product's rating. */
export const ReviewsSchema = z.object({
  items: z.array(ReviewSchema),
  average: z.number().nullable(),
  count: z.number().int().nonnegative(),
});
export type Reviews = z.infer<typeof ReviewsSchema>;

/** One review as the staff of the store it was bought at see it (`GET /stores/<id>/reviews`). */
export const StoreReviewSchema = ReviewSchema.extend({
  productName: z.string(),
  orderId: z.string(),
  roomId: z.string(),
});
export type StoreReview = z.infer<typeof StoreReviewSchema>;

/** One of a member's orders (`GET /members/<memberId>/orders`), newest first. */
export const MemberOrderSchema = z.object({
  orderId: z.string(),
  settlementId: z.string(),
  roomId: z.string(),
  storeId: z.string(),
  storeName: z.string(),
  status: z.enum(ORDER_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
  currency: z.string(),
  /** The whole order's total. */
  total: z.number().int(),
  /** What this member paid: their share, how, and where that payment stands. */
  share: z.object({
    amount: z.number().int(),
    method: z.enum(PAYMENT_METHODS),
    status: z.enum(PAYMENT_STATUSES),
  }),
  lines: z.array(z.object({ sku: z.string(), name: z.string(), qty: z.number().int() })),
  /** This member's own review of each sku of the order they reviewed (any order's). */
  reviews: z.array(
    z.object({ sku: z.string(), rating: z.number().int(), text: z.string().optional() }),
  ),
});
export type MemberOrder = z.infer<typeof MemberOrderSchema>;

export const MemberOrdersSchema = z.object({ items: z.array(MemberOrderSchema) });
export type MemberOrders = z.infer<typeof MemberOrdersSchema>;
