/** A store's sales report, for its staff (or the service): docs/settlement.md "Reports". */
import type { Hono } from 'hono';
import { salesReport } from '../reports.ts';
import { getStore } from '../stores.ts';
import { authenticate, forbidden, type AppDeps, type C, type Env } from './support.ts';

/** Staff of this store, or a service token; anyone else is 401 / 403. */
export async function staffOrService(c: C, secret: string, storeId: string) {
  const claims = await authenticate(c, secret, ['staff', 'service']);
  if (claims.role === 'staff' && claims.store !== storeId) {
    throw forbidden('This staff token is for another store');
  }
  return claims;
}

export function reportRoutes(app: Hono<Env>, d: AppDeps): void {
  const { db } = d.ctx;
  app.get('/stores/:id/reports/sales', async (c) => {
    const storeId = c.req.param('id');
    await staffOrService(c, d.secret, storeId);
    await getStore(db, storeId);
    const report = await salesReport(db, {
      storeId,
      from: c.req.query('from'),
      to: c.req.query('to'),
    });
    c.header('cache-control', 'no-store');
    return c.json(report);
  });
}
