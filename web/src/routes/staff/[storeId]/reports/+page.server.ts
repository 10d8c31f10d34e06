/**
 * A store's sales report for its staff: totals, a chart by day and the best sellers, for a
 * period in the store's local dates (default the last 7 days up to the store's today).
 */
import { WebError } from '$lib/server/errors.ts';
import { log } from '$lib/server/log.ts';
import { requireStaff } from '$lib/server/staff.ts';
import { daysBefore, salesReport, storeZone, todayIn } from '$lib/server/store-reports.ts';
import type { PageServerLoad } from './$types';

/** As settlement's MAX_REPORT_DAYS (docs/settlement.md "Reports"). */
const MAX_DAYS = 366;

export const load: PageServerLoad = async ({ params, locals, url }) => {
  const user = requireStaff(locals.user, params.storeId, url.pathname);
  const store = await storeZone(params.storeId).catch(() => ({
    name: params.storeId,
    timezone: 'Asia/Jakarta',
  }));
  const today = todayIn(store.timezone);
  const to = url.searchParams.get('to') || today;
  const from = url.searchParams.get('from') || daysBefore(to, 6);
  const base = {
    storeId: params.storeId,
    storeName: store.name,
    timezone: store.timezone,
    today,
    from,
    to,
    maxDays: MAX_DAYS,
  };
  try {
    return { ...base, report: await salesReport(user, params.storeId, { from, to }), error: null };
  } catch (err) {
    if (!(err instanceof WebError)) throw err;
    if (err.code !== 'invalid') {
      log.warn({ err, storeId: params.storeId }, 'sales report failed');
    }
    return {
      ...base,
      report: null,
      error: err.code === 'invalid' ? ('range' as const) : ('unavailable' as const),
    };
  }
};
