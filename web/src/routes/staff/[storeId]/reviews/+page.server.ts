/**
 * The reviews of a store's purchases, for its staff (docs/web.md "Staff reviews"): read from
 * settlement with a short-lived staff token signed for this user and store.
 */
import { WebError } from '$lib/server/errors.ts';
import { log } from '$lib/server/log.ts';
import { storeReviews } from '$lib/server/reviews.ts';
import { requireStaff, settlementClient } from '$lib/server/staff.ts';
import type { StoreReview } from '@patungan/model/contracts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ params, locals, url }) => {
  const user = requireStaff(locals.user, params.storeId, url.pathname);
  const [store, reviews] = await Promise.allSettled([
    settlementClient().store(params.storeId),
    storeReviews(user, params.storeId),
  ]);
  if (reviews.status === 'rejected') {
    if (!(reviews.reason instanceof WebError)) throw reviews.reason;
    log.warn({ err: reviews.reason, storeId: params.storeId }, 'store reviews load failed');
  }
  return {
    storeId: params.storeId,
    storeName: (store.status === 'fulfilled' && store.value?.name) || params.storeId,
    reviews: reviews.status === 'fulfilled' ? reviews.value : ([] as StoreReview[]),
    failed: reviews.status === 'rejected',
  };
};
