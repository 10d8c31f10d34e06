/** `GET /staff/<storeId>/orders` → `{items}`: the staff page polls it for incoming orders. */
import { json } from '@sveltejs/kit';
import { retryAfterHeaders, WebError } from '$lib/server/errors.ts';
import { requireStaff, settlementClient, tokenFor } from '$lib/server/staff.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, locals, url }) => {
  const user = requireStaff(locals.user, params.storeId, url.pathname);
  try {
    const items = await settlementClient().orders(
      params.storeId,
      await tokenFor(user, params.storeId),
    );
    return json({ items }, { headers: { 'cache-control': 'no-store' } });
  } catch (err) {
    if (!(err instanceof WebError)) throw err;
    return json(
      { error: { code: err.code, message: err.message } },
      { status: err.status, headers: retryAfterHeaders(err) },
    );
  }
};
