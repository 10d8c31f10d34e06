/**
 * The signed-in user's order history (docs/web.md "Order history"): every order they had a
 * share in — room, store, what they paid, the receipt — and, for a completed order, a review
 * form per product (docs/contracts.md "Reviews"). Guests have one too: their orders are theirs.
 */
import { fail, redirect } from '@sveltejs/kit';
import { REVIEW_TEXT_MAX } from '@patungan/model/contracts';
import { retryAfterHeaders, WebError } from '$lib/server/errors.ts';
import { actor, echo, fields, formError } from '$lib/server/forms.ts';
import { log } from '$lib/server/log.ts';
import { orderHistory, submitReview, type HistoryOrder } from '$lib/server/reviews.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
  if (!locals.user) redirect(303, '/login?redirect=/orders');
  let orders: HistoryOrder[] = [];
  let failed = false;
  try {
    orders = await orderHistory(locals.user.id);
  } catch (err) {
    if (!(err instanceof WebError)) throw err;
    log.warn({ err, userId: locals.user.id }, 'order history load failed');
    failed = true;
  }
  return { orders, failed, textMax: REVIEW_TEXT_MAX };
};

export const actions: Actions = {
  review: async ({ request, locals, setHeaders }) => {
    const user = actor(locals);
    const f = fields(await request.formData(), 'roomId', 'sku', 'rating', 'text');
    const at = { roomId: f.roomId, sku: f.sku };
    const rating = Number(f.rating);
    if (!f.roomId || !f.sku || !Number.isInteger(rating) || rating < 1 || rating > 5) {
      return fail(400, {
        review: { ...at, text: echo(f.text), error: { key: 'reviews.error.rating' as const } },
      });
    }
    if (f.text.trim().length > REVIEW_TEXT_MAX) {
      return fail(400, {
        review: {
          ...at,
          text: echo(f.text),
          error: { key: 'reviews.error.tooLong' as const, params: { max: REVIEW_TEXT_MAX } },
        },
      });
    }
    try {
      const refused = await submitReview(user, { ...at, rating, text: f.text });
      if (refused) {
        const seconds = refused.params?.seconds;
        if (refused.status === 429 && typeof seconds === 'number') {
          setHeaders({ 'retry-after': String(seconds) });
        }
        return fail(refused.status, {
          review: {
            ...at,
            text: echo(f.text),
            error: { key: refused.key, ...(refused.params ? { params: refused.params } : {}) },
          },
        });
      }
    } catch (err) {
      if (!(err instanceof WebError)) throw err;
      setHeaders(retryAfterHeaders(err));
      return fail(err.status, { review: { ...at, text: echo(f.text), error: formError(err) } });
    }
    return { review: { ...at, saved: true } };
  },
};
