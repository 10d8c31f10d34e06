/**
 * Store staff: the store's orders, lookup by pickup code or order reference, and moving an
 * order along (completing it takes the shoppers' pickup code).
 */
import type { Hono } from 'hono';
import { completeOrder, moveOrder } from '../flow/fulfilment.ts';
import { countFailedPickupLookup, pickupLookupRefusal } from '../flow/pickup-lookups.ts';
import { cancel } from '../flow/transitions.ts';
import { ordersQuery, orderStatusBody } from '../schemas.ts';
import { getOrder, getStore, listOrders } from '../stores.ts';
import { notFound } from '../errors.ts';
import {
  authenticate,
  forbidden,
  jsonBody,
  parse,
  type AppDeps,
  type C,
  type Env,
} from './support.ts';

export function staffRoutes(app: Hono<Env>, d: AppDeps): void {
  const { ctx } = d;

  async function orderView(storeId: string, orderId: string) {
    const r = await listOrders(ctx.db, { storeId, orderId, page: 1, size: 1 });
    if (!r.items[0]) throw notFound(`Order ${orderId}`);
    return r.items[0];
  }

  async function staffOf(c: C, storeId: string) {
    const claims = await authenticate(c, d.secret, ['staff']);
    if (claims.store !== storeId) throw forbidden('This staff token is for another store');
    return claims;
  }

  app.get('/stores/:id/orders', async (c) => {
    const storeId = c.req.param('id');
    await staffOf(c, storeId);
    await getStore(ctx.db, storeId);
    const q = parse(ordersQuery, c.req.query());
    return c.json(await listOrders(ctx.db, { storeId, ...q }));
  });

  app.get('/stores/:id/orders/pickup/:code', async (c) => {
    const storeId = c.req.param('id');
    const claims = await staffOf(c, storeId);
    // failed lookups are bounded (docs/security.md), or codes could be guessed here, then completed
    const refused = await pickupLookupRefusal(ctx.db, storeId, claims.sub, ctx.clock.now());
    if (refused) {
      ctx.log.warn({ storeId, staff: claims.sub }, 'pickup lookups refused: too many misses');
      throw refused;
    }
    const r = await listOrders(ctx.db, {
      storeId,
      pickupCode: c.req.param('code'),
      page: 1,
      size: 1,
    });
    const order = r.items[0];
    if (!order) {
      await countFailedPickupLookup(ctx.db, storeId, claims.sub, ctx.clock.now());
      throw notFound(`An order with pickup code ${c.req.param('code').toUpperCase()}`);
    }
    return c.json(order);
  });

  app.get('/stores/:id/orders/ref/:ref', async (c) => {
    const storeId = c.req.param('id');
    await staffOf(c, storeId);
    const r = await listOrders(ctx.db, {
      storeId,
      orderRef: c.req.param('ref'),
      page: 1,
      size: 1,
    });
    const order = r.items[0];
    if (!order) throw notFound(`Order ${c.req.param('ref').toUpperCase()}`);
    return c.json(order);
  });

  app.get('/orders/:id', async (c) => {
    const o = await getOrder(ctx.db, c.req.param('id'));
    await staffOf(c, o.store_id);
    return c.json(await orderView(o.store_id, o.id));
  });

  app.post('/orders/:id/status', async (c) => {
    const o = await getOrder(ctx.db, c.req.param('id'));
    const claims = await staffOf(c, o.store_id);
    const { status, pickupCode } = parse(orderStatusBody, await jsonBody(c));
    const refused = await ctx.db.transaction(async (tx) => {
      if (status === 'cancelled') {
        await cancel(
          ctx,
          tx,
          o.settlement_id,
          `Cancelled by store staff (${claims.name})`,
          ctx.clock.now(),
        );
      } else if (status === 'completed') {
        // a wrong code is counted in this transaction, so it commits before the refusal
        return completeOrder(ctx, tx, o.settlement_id, pickupCode, ctx.clock.now());
      } else {
        await moveOrder(ctx, tx, o.settlement_id, status, ctx.clock.now());
      }
      return null;
    });
    if (refused) throw refused;
    ctx.kick();
    return c.json(await orderView(o.store_id, o.id));
  });
}
