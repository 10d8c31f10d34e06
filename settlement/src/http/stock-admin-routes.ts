/**
 * Staff stock tools (docs/settlement.md "Stock tools"): the stock as CSV, importing a CSV with
 * a dry run first, and the low-stock list. Staff of the store, or a service token.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import {
  DEFAULT_LOW_STOCK,
  exportStockCsv,
  importStockCsv,
  lowStock,
  MAX_ON_HAND,
} from '../stock-csv.ts';
import { text } from '../schemas.ts';
import { getStore } from '../stores.ts';
import { jsonBody, parse, type AppDeps, type Env } from './support.ts';
import { staffOrService } from './report-routes.ts';

// `text`: PostgreSQL text holds no NUL, so a file with one is refused up front (400)
const importBody = z.object({ csv: text(), dryRun: z.boolean().default(true) });
const lowQuery = z.object({
  below: z.coerce.number().int().min(1).max(MAX_ON_HAND).default(DEFAULT_LOW_STOCK),
});

export function stockAdminRoutes(app: Hono<Env>, d: AppDeps): void {
  const { ctx } = d;

  app.get('/stores/:id/stock/export', async (c) => {
    const storeId = c.req.param('id');
    await staffOrService(c, d.secret, storeId);
    await getStore(ctx.db, storeId);
    const day = ctx.clock.now().toISOString().slice(0, 10);
    c.header('content-type', 'text/csv; charset=utf-8');
    c.header('content-disposition', `attachment; filename="stock-${storeId}-${day}.csv"`);
    c.header('cache-control', 'no-store');
    return c.body(await exportStockCsv(ctx.db, storeId));
  });

  app.post('/stores/:id/stock/import', async (c) => {
    const storeId = c.req.param('id');
    const claims = await staffOrService(c, d.secret, storeId);
    await getStore(ctx.db, storeId);
    const body = parse(importBody, await jsonBody(c));
    const result = await ctx.db.transaction((tx) =>
      importStockCsv(tx, {
        storeId,
        csv: body.csv,
        apply: !body.dryRun,
        by: claims.sub,
        now: ctx.clock.now(),
      }),
    );
    if (result.applied) {
      ctx.log.info(
        { storeId, staff: claims.sub, changed: result.changes.length },
        'stock imported',
      );
      ctx.kick();
    }
    return c.json(result);
  });

  app.get('/stores/:id/stock/low', async (c) => {
    const storeId = c.req.param('id');
    await staffOrService(c, d.secret, storeId);
    await getStore(ctx.db, storeId);
    const { below } = parse(lowQuery, c.req.query());
    return c.json(await lowStock(ctx.db, storeId, below));
  });
}
