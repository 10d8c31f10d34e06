/**
 * `GET /staff/<storeId>/reports/sales.csv?from=&to=`: the report's days as CSV (date, orders,
 * total in minor units, currency), one row per day of the period, for a spreadsheet.
 */
import { error } from '@sveltejs/kit';
import { stringify } from 'csv-stringify/sync';
import { WebError } from '$lib/server/errors.ts';
import { requireStaff } from '$lib/server/staff.ts';
import { salesReport } from '$lib/server/store-reports.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, locals, url }) => {
  const user = requireStaff(locals.user, params.storeId, url.pathname);
  const from = url.searchParams.get('from') ?? '';
  const to = url.searchParams.get('to') ?? '';
  let report;
  try {
    report = await salesReport(user, params.storeId, { from, to });
  } catch (err) {
    if (!(err instanceof WebError)) throw err;
    error(err.status, err.message);
  }
  const rows = report.byDay.map((d) => [d.date, d.orders, d.total, report.currency]);
  const csv = stringify([['date', 'orders', 'total', 'currency'], ...rows], {
    bom: true,
    record_delimiter: 'windows',
  });
  const name = `sales-${params.storeId}-${report.from}-${report.to}.csv`;
  return new Response(csv, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    },
  });
};
