/**
 * Verified-purchase reviews (docs/contracts.md "Reviews") and a member's order history
 * ("Order history"). A member may review a sku only when a completed order of the room their
 * token names contained it and they had a share in it; one review per member per sku, a
 * second write replaces the first.
 */
import type { Queryable } from '@patungan/db';
import type {
  MemberOrder,
  Rating,
  Review,
  ReviewBody,
  Reviews,
  StoreReview,
} from '@patungan/model/contracts';
import { SettlementError, notFound } from './errors.ts';

/** The newest reviews a product page shows (and staff see per page). */
export const REVIEWS_PAGE = 50;

interface ReviewRow {
  sku: string;
  member_name: string;
  rating: number;
  body: string | null;
  created_at: Date;
  updated_at: Date;
}

const reviewView = (r: ReviewRow): Review => ({
  sku: r.sku,
  name: r.member_name,
  rating: Number(r.rating),
  ...(r.body ? { text: r.body } : {}),
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const average = (sum: number, n: number): number | null =>
  n > 0 ? Math.round((sum / n) * 100) / 100 : null;

/** The rating of each sku (skus without reviews: `{average: null, count: 0}`). */
export async function ratingsOf(
  db: Queryable,
  skus: readonly string[],
): Promise<Map<string, Rating>> {
  const out = new Map<string, Rating>(skus.map((s) => [s, { average: null, count: 0 }]));
  if (skus.length === 0) return out;
  const rows = await db.query<{ sku: string; total: number; n: number }>(
    `SELECT sku, sum(rating)::bigint AS total, count(*)::int AS n FROM reviews
     WHERE sku = ANY($1::text[]) GROUP BY sku`,
    [skus],
  );
  for (const r of rows) {
    out.set(r.sku, { average: average(Number(r.total), Number(r.n)), count: Number(r.n) });
  }
  return out;
}

/** Products with their `rating` added. */
export async function withRatings<P extends { sku: string }>(
  db: Queryable,
  products: P[],
): Promise<(P & { rating: Rating })[]> {
  const ratings = await ratingsOf(
    db,
    products.map((p) => p.sku),
  );
  return products.map((p) => ({ ...p, rating: ratings.get(p.sku)! }));
}

/** `GET /products/<sku>/reviews`. */
export async function productReviews(db: Queryable, sku: string): Promise<Reviews> {
  const [p] = await db.query('SELECT 1 FROM products WHERE sku = $1', [sku]);
  if (!p) throw notFound(`Product ${sku}`, 'unknown_sku');
  const rows = await db.query<ReviewRow>(
    `SELECT sku, member_name, rating, body, created_at, updated_at FROM reviews
     WHERE sku = $1 ORDER BY updated_at DESC, member_id LIMIT ${REVIEWS_PAGE}`,
    [sku],
  );
  const rating = (await ratingsOf(db, [sku])).get(sku)!;
  return { items: rows.map(reviewView), ...rating };
}

/**
 * Writes (or replaces) `memberId`'s review of `sku`, verified against the completed orders
 * of `roomId`: 403 when that member had no share in a completed order there containing it.
 */
export async function writeReview(
  tx: Queryable,
  o: { sku: string; memberId: string; roomId: string; body: ReviewBody; now: Date },
): Promise<{ review: Review; created: boolean; orderId: string; storeId: string }> {
  const [p] = await tx.query('SELECT 1 FROM products WHERE sku = $1', [o.sku]);
  if (!p) throw notFound(`Product ${o.sku}`, 'unknown_sku');
  const [bought] = await tx.query<{
    order_id: string;
    store_id: string;
    member_name: string;
  }>(
    `SELECT o.id AS order_id, o.store_id, p.member_name
     FROM orders o
     JOIN payments p ON p.settlement_id = o.settlement_id AND p.member_id = $2
     WHERE o.room_id = $3 AND o.status = 'completed'
       AND EXISTS (SELECT 1 FROM settlement_lines l WHERE l.settlement_id = o.settlement_id AND l.sku = $1)
     ORDER BY o.updated_at DESC LIMIT 1`,
    [o.sku, o.memberId, o.roomId],
  );
  if (!bought) {
    throw new SettlementError(
      403,
      'forbidden',
      'Only a member of a completed order that contained this product may review it',
    );
  }
  const [row] = await tx.query<ReviewRow & { created: boolean }>(
    `INSERT INTO reviews (sku, member_id, member_name, rating, body, order_id, store_id, room_id,
       created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
     ON CONFLICT (sku, member_id) DO UPDATE SET member_name = EXCLUDED.member_name,
       rating = EXCLUDED.rating, body = EXCLUDED.body, order_id = EXCLUDED.order_id,
       store_id = EXCLUDED.store_id, room_id = EXCLUDED.room_id, updated_at = EXCLUDED.updated_at
     RETURNING sku, member_name, rating, body, created_at, updated_at,
       (xmax = 0) AS created`,
    [
      o.sku,
      o.memberId,
      bought.member_name,
      o.body.rating,
      o.body.text || null,
      bought.order_id,
      bought.store_id,
      o.roomId,
      o.now,
    ],
  );
  return {
    review: reviewView(row!),
    created: Boolean(row!.created),
    orderId: bought.order_id,
    storeId: bought.store_id,
  };
}

/** `GET /stores/<id>/reviews`: reviews of purchases made at this store, newest first. */
export async function storeReviews(
  db: Queryable,
  storeId: string,
  page: number,
): Promise<{ items: StoreReview[]; total: number; page: number; size: number }> {
  const rows = await db.query<
    ReviewRow & { product_name: string; order_id: string; room_id: string; total: number }
  >(
    `SELECT r.sku, r.member_name, r.rating, r.body, r.created_at, r.updated_at, r.order_id,
       r.room_id, p.name AS product_name, count(*) OVER () AS total
     FROM reviews r JOIN products p ON p.sku = r.sku
     WHERE r.store_id = $1 ORDER BY r.updated_at DESC, r.sku, r.member_id
     LIMIT ${REVIEWS_PAGE} OFFSET $2`,
    [storeId, (page - 1) * REVIEWS_PAGE],
  );
  return {
    items: rows.map((r) => ({
      ...reviewView(r),
      productName: r.product_name,
      orderId: r.order_id,
      roomId: r.room_id,
    })),
    total: Number(rows[0]?.total ?? 0),
    page,
    size: REVIEWS_PAGE,
  };
}

/** The newest orders a member's history lists. */
export const MEMBER_ORDERS_MAX = 100;

/** `GET /members/<memberId>/orders`: orders the member had a share in, newest first. */
export async function memberOrders(db: Queryable, memberId: string): Promise<MemberOrder[]> {
  const orders = await db.query<{
    order_id: string;
    settlement_id: string;
    room_id: string;
    store_id: string;
    store_name: string | null;
    status: MemberOrder['status'];
    created_at: Date;
    updated_at: Date;
    currency: string;
    total: number;
    amount: number;
    method: MemberOrder['share']['method'];
    pay_status: MemberOrder['share']['status'];
  }>(
    `SELECT o.id AS order_id, o.settlement_id, o.room_id, o.store_id, st.name AS store_name,
       o.status, o.created_at, o.updated_at, s.currency, s.total, p.amount, p.method,
       p.status AS pay_status
     FROM payments p
     JOIN orders o ON o.settlement_id = p.settlement_id
     JOIN settlements s ON s.id = p.settlement_id
     LEFT JOIN stores st ON st.id = o.store_id
     WHERE p.member_id = $1
     ORDER BY o.created_at DESC, o.id LIMIT ${MEMBER_ORDERS_MAX}`,
    [memberId],
  );
  if (orders.length === 0) return [];
  const lines = await db.query<{ settlement_id: string; sku: string; name: string; qty: number }>(
    `SELECT settlement_id, sku, min(name) AS name, sum(qty)::int AS qty FROM settlement_lines
     WHERE settlement_id = ANY($1::text[]) GROUP BY settlement_id, sku ORDER BY settlement_id, name`,
    [orders.map((o) => o.settlement_id)],
  );
  const mine = await db.query<{ sku: string; rating: number; body: string | null }>(
    'SELECT sku, rating, body FROM reviews WHERE member_id = $1',
    [memberId],
  );
  const reviewOf = new Map(mine.map((r) => [r.sku, r]));
  return orders.map((o) => {
    const its = lines.filter((l) => l.settlement_id === o.settlement_id);
    return {
      orderId: o.order_id,
      settlementId: o.settlement_id,
      roomId: o.room_id,
      storeId: o.store_id,
      storeName: o.store_name ?? o.store_id,
      status: o.status,
      createdAt: o.created_at.toISOString(),
      updatedAt: o.updated_at.toISOString(),
      currency: o.currency,
      total: Number(o.total),
      share: { amount: Number(o.amount), method: o.method, status: o.pay_status },
      lines: its.map((l) => ({ sku: l.sku, name: l.name, qty: Number(l.qty) })),
      reviews: its.flatMap((l) => {
        const r = reviewOf.get(l.sku);
        return r
          ? [{ sku: l.sku, rating: Number(r.rating), ...(r.body ? { text: r.body } : {}) }]
          : [];
      }),
    };
  });
}
