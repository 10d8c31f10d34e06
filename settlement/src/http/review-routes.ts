/**
 * Reviews and order history (docs/contracts.md "Reviews", "Order history"): anyone reads a
 * product's reviews; a member or organiser token writes its subject's review, verified against
 * the completed orders of the token's room; staff read their store's reviews; a member's
 * orders are read by web (service token for every room) or by the member's own token.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { ReviewBodySchema } from '@patungan/model/contracts';
import { SettlementError } from '../errors.ts';
import { memberOrders, productReviews, storeReviews, writeReview } from '../reviews.ts';
import { getStore } from '../stores.ts';
import { authenticate, forbidden, jsonBody, parse, type AppDeps, type Env } from './support.ts';

/** Review writes per member per minute unless configured (`REVIEW_WRITES_PER_MINUTE`). */
export const REVIEW_WRITES_PER_MINUTE = 10;

const pageQuery = z.object({ page: z.coerce.number().int().min(1).max(100_000).default(1) });

export function reviewRoutes(app: Hono<Env>, d: AppDeps): void {
  const { ctx } = d;
  const limit = new MemberLimiter(d.reviewWritesPerMinute ?? REVIEW_WRITES_PER_MINUTE);

  app.get('/products/:sku/reviews', async (c) =>
    c.json(await productReviews(ctx.db, c.req.param('sku'))),
  );

  app.post('/products/:sku/reviews', async (c) => {
    const claims = await authenticate(c, d.secret, ['member', 'organiser']);
    if (!claims.room || claims.room === '*') throw forbidden('A review needs a room token');
    const wait = limit.take(claims.sub);
    if (wait > 0) {
      ctx.log.warn({ memberId: claims.sub, roomId: claims.room }, 'review writes rate limited');
      return c.json(
        new SettlementError(429, 'rate_limited', 'Too many reviews; try again shortly', {
          retryAfterSeconds: wait,
        }).toJSON(),
        429,
        { 'retry-after': String(wait) },
      );
    }
    const body = parse(ReviewBodySchema, await jsonBody(c));
    const sku = c.req.param('sku');
    const r = await ctx.db.transaction((tx) =>
      writeReview(tx, {
        sku,
        memberId: claims.sub,
        roomId: claims.room!,
        body,
        now: ctx.clock.now(),
      }),
    );
    ctx.log.info(
      {
        memberId: claims.sub,
        roomId: claims.room,
        sku,
        orderId: r.orderId,
        storeId: r.storeId,
        rating: body.rating,
        created: r.created,
      },
      r.created ? 'review written' : 'review replaced',
    );
    return c.json(r.review, r.created ? 201 : 200);
  });

  app.get('/stores/:id/reviews', async (c) => {
    const claims = await authenticate(c, d.secret, ['staff']);
    const storeId = c.req.param('id');
    if (claims.store !== storeId) throw forbidden('This staff token is for another store');
    await getStore(ctx.db, storeId);
    const { page } = parse(pageQuery, c.req.query());
    return c.json(await storeReviews(ctx.db, storeId, page));
  });

  app.get('/members/:memberId/orders', async (c) => {
    const claims = await authenticate(c, d.secret, ['service', 'member', 'organiser']);
    const memberId = c.req.param('memberId');
    const ok = claims.role === 'service' ? claims.room === '*' : claims.sub === memberId;
    if (!ok) throw forbidden('Only the member themselves (or web) may list their orders');
    return c.json({ items: await memberOrders(ctx.db, memberId) });
  });
}

/**
 * A token bucket per member, in this process: `perMinute` writes, refilled continuously.
 * Several API instances each count their own (a member behind N instances gets up to N times
 * the limit); enough to stop a script, which is what it is for.
 */
class MemberLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    readonly perMinute: number,
    readonly maxKeys = 50_000,
  ) {}

  /** 0 when allowed, else the seconds until the next write is. */
  take(key: string, now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    const rate = this.perMinute / 60_000;
    const b = this.#buckets.get(key) ?? { tokens: this.perMinute, at: now };
    this.#buckets.delete(key); // re-inserted last: the Map's order is least recently used first
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.#buckets.set(key, b);
    if (this.#buckets.size > this.maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
  }
}
