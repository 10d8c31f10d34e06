/** `GET /staff/<storeId>/stock/stock.csv`: the store's stock as CSV (settlement's export). */
import { error } from '@sveltejs/kit';
import { WebError } from '$lib/server/errors.ts';
import { requireStaff } from '$lib/server/staff.ts';
import { stockCsv, storeZone, todayIn } from '$lib/server/store-reports.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, locals, url }) => {
  const user = requireStaff(locals.user, params.storeId, url.pathname);
  let csv: string;
  let day: string;
  try {
    csv = await stockCsv(user, params.storeId);
    day = todayIn((await storeZone(params.storeId)).timezone);
  } catch (err) {
    if (!(err instanceof WebError)) throw err;
    error(err.status, err.message);
  }
  return new Response(csv, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="stock-${params.storeId}-${day}.csv"`,
      'cache-control': 'no-store',
    },
  });
};
