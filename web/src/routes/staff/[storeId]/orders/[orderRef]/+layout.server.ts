/**
 * One order of the store by its `orderRef`, for the printable pages under it (bag labels and
 * the members' receipts). Staff of this store only, like the staff page.
 */
import { error } from '@sveltejs/kit';
import { WebError } from '$lib/server/errors.ts';
import { receiptsOfOrder } from '$lib/handover/receipt.ts';
import { requireStaff, settlementClient, tokenFor } from '$lib/server/staff.ts';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async ({ params, locals, url }) => {
  const user = requireStaff(locals.user, params.storeId, url.pathname);
  const client = settlementClient();
  try {
    const [store, order] = await Promise.all([
      client.store(params.storeId),
      client.orderByRef(params.storeId, params.orderRef, await tokenFor(user, params.storeId)),
    ]);
    if (!order) error(404, 'No order of this store has this reference');
    const storeName = store?.name ?? params.storeId;
    return {
      storeId: params.storeId,
      storeName,
      order,
      receipts: receiptsOfOrder(order, storeName),
    };
  } catch (err) {
    if (err instanceof WebError) error(err.status, err.message);
    throw err;
  }
};
