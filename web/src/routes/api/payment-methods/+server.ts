/**
 * `GET /api/payment-methods?lang=id|en` → settlement `GET /payment-methods`: the payment
 * methods this deployment takes (`{items: [{method, label, channels?}], default}`), so the
 * room offers nothing a finalise would refuse.
 */
import { forwardGet } from '$lib/room/settlement-proxy.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ url, request }) => {
  const lang = url.searchParams.get('lang') === 'en' ? 'en' : 'id';
  return forwardGet(`/payment-methods?lang=${lang}`, request, { cacheSeconds: 60 });
};
