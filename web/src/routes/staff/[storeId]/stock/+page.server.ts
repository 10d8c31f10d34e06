/**
 * Staff stock tools: what is running low, the stock as CSV, and importing a CSV — first a
 * check (settlement's dry run: the diff and every bad row), then applying the same file, which
 * settlement writes all at once or not at all.
 */
import { fail } from '@sveltejs/kit';
import { WebError } from '$lib/server/errors.ts';
import { formError, str } from '$lib/server/forms.ts';
import { log } from '$lib/server/log.ts';
import { requireStaff } from '$lib/server/staff.ts';
import { importStock, lowStock, storeZone } from '$lib/server/store-reports.ts';
import type { Actions, PageServerLoad } from './$types';

/** settlement's default threshold (docs/settlement.md "Stock tools"). */
const DEFAULT_BELOW = 5;

export const load: PageServerLoad = async ({ params, locals, url }) => {
  const user = requireStaff(locals.user, params.storeId, url.pathname);
  const raw = url.searchParams.get('below');
  const n = raw === null || raw === '' ? undefined : Number(raw);
  const below = n !== undefined && Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? n : undefined;
  const [store, low] = await Promise.allSettled([
    storeZone(params.storeId),
    lowStock(user, params.storeId, below),
  ]);
  if (low.status === 'rejected') {
    log.warn({ err: low.reason, storeId: params.storeId }, 'low stock load failed');
  }
  return {
    storeId: params.storeId,
    storeName: store.status === 'fulfilled' ? store.value.name : params.storeId,
    below: below ?? DEFAULT_BELOW,
    defaultBelow: DEFAULT_BELOW,
    low: low.status === 'fulfilled' ? low.value.items : [],
    lowError: low.status === 'rejected',
  };
};

/** The file of the form (an upload), or the text a check passed on to the apply. */
async function csvOf(form: FormData): Promise<string> {
  const file = form.get('file');
  if (file instanceof File && file.size > 0) return file.text();
  return str(form.get('csv'));
}

async function run(
  { params, locals, request, url }: Parameters<Actions[string]>[0],
  dryRun: boolean,
) {
  const user = requireStaff(locals.user, params.storeId!, url.pathname);
  const csv = await csvOf(await request.formData());
  if (!csv.trim()) return fail(400, { importError: { key: 'reports.stock.noFile' as const } });
  try {
    const result = await importStock(user, params.storeId!, { csv, dryRun });
    if (result.applied) {
      log.info(
        { userId: user.id, storeId: params.storeId, changed: result.changes.length },
        'stock imported',
      );
    }
    return { result, csv: result.applied ? '' : csv };
  } catch (err) {
    if (!(err instanceof WebError)) throw err;
    if (err.code === 'invalid') {
      const reason = err.message.replace(/^csv: /, '');
      return fail(400, {
        importError: { key: 'reports.stock.unreadable' as const, params: { reason } },
      });
    }
    return fail(err.status, { importError: formError(err) });
  }
}

export const actions: Actions = {
  check: (event) => run(event, true),
  apply: (event) => run(event, false),
};
