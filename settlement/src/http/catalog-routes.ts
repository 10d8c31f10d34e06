/** Public catalog and stock reads, staff stock writes, and the live stock streams (SSE). */
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { getProduct, listCategories, searchProducts } from '../catalog.ts';
import { channels } from '../events.ts';
import { productQuery, stockBody, storesQuery, streamQuery } from '../schemas.ts';
import { setOnHand, storeStock } from '../stock.ts';
import { getStore, nearestStores, parseSkuList } from '../stores.ts';
import {
  authenticate,
  forbidden,
  jsonBody,
  parse,
  type AppDeps,
  type C,
  type Env,
} from './support.ts';

export function catalogRoutes(app: Hono<Env>, d: AppDeps): void {
  const { db } = d.ctx;

  app.get('/products', async (c) =>
    c.json(await searchProducts(db, parse(productQuery, c.req.query()))),
  );
  app.get('/products/:sku', async (c) => c.json(await getProduct(db, c.req.param('sku'))));
  app.get('/categories', async (c) => c.json({ items: await listCategories(db) }));

  app.get('/stores', async (c) => {
    const q = parse(storesQuery, c.req.query());
    return c.json(
      await nearestStores(db, {
        lat: q.lat,
        lng: q.lng,
        skus: parseSkuList(q.skus),
        limit: q.limit,
      }),
    );
  });
  app.get('/stores/:id', async (c) => c.json(await getStore(db, c.req.param('id'))));
  app.get('/stores/:id/stock', async (c) => {
    const id = c.req.param('id');
    await getStore(db, id);
    const items = (await storeStock(db, id)).map(({ storeId: _s, ...r }) => r);
    return c.json({ items, total: items.length });
  });

  app.put('/stores/:id/stock/:sku', async (c) => {
    const claims = await authenticate(c, d.secret, ['staff']);
    const storeId = c.req.param('id');
    if (claims.store !== storeId) throw forbidden('This staff token is for another store');
    const body = parse(stockBody, await jsonBody(c));
    const level = await db.transaction((tx) =>
      setOnHand(tx, {
        storeId,
        sku: c.req.param('sku'),
        onHand: body.onHand,
        by: claims.sub,
        now: d.ctx.clock.now(),
      }),
    );
    d.ctx.log.info(
      { storeId, sku: level.sku, onHand: level.onHand, staff: claims.sub },
      'stock adjusted',
    );
    d.ctx.kick();
    return c.json(level);
  });

  // Live stock: a `snapshot` event per store first, then one `stock` event per change (see
  // outbox.ts). Every event names its store (`storeId`).
  app.get('/stores/:id/stock/stream', async (c) => {
    const storeId = c.req.param('id');
    await getStore(db, storeId);
    return stockStream(c, d, [storeId]);
  });
  // The same for several stores in one stream (a page watching the nearest few opens one
  // connection, not one per store): `?stores=a,b,c`, at most MAX_STREAM_STORES.
  app.get('/stock/stream', async (c) => {
    const { stores } = parse(streamQuery, c.req.query());
    const ids = [...new Set(stores.split(',').filter(Boolean))];
    for (const id of ids) await getStore(db, id);
    return stockStream(c, d, ids);
  });
}

function stockStream(c: C, d: AppDeps, storeIds: readonly string[]): Response {
  const { db } = d.ctx;
  return streamSSE(c, async (stream) => {
    const queue: unknown[] = [];
    let wake: (() => void) | undefined;
    const unsubscribes = storeIds.map((storeId) =>
      d.bus.subscribe(channels.stock(storeId), (m) => {
        queue.push(m);
        wake?.();
      }),
    );
    const stop = () => wake?.();
    d.closing.addEventListener('abort', stop);
    stream.onAbort(stop);
    d.ctx.metrics.stockStreams.inc();
    try {
      for (const storeId of storeIds) {
        const items = (await storeStock(db, storeId)).map(({ storeId: _s, ...r }) => r);
        await stream.writeSSE({ event: 'snapshot', data: JSON.stringify({ storeId, items }) });
      }
      while (!stream.aborted && !stream.closed && !d.closing.aborted) {
        for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
          const ev = m as { seq?: number };
          await stream.writeSSE({
            event: 'stock',
            data: JSON.stringify(m),
            ...(ev.seq ? { id: String(ev.seq) } : {}),
          });
        }
        // wait for the next event, or send a keep-alive comment every 15 s
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 15_000);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
        if (queue.length === 0 && !stream.aborted && !d.closing.aborted)
          await stream.write(': keep-alive\n\n');
      }
    } finally {
      for (const u of unsubscribes) u();
      d.closing.removeEventListener('abort', stop);
      d.ctx.metrics.stockStreams.dec();
    }
  });
}
