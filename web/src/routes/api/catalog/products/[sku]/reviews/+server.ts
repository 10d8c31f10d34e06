/** `GET /api/catalog/products/<sku>/reviews` → settlement `GET /products/<sku>/reviews` (fresh: a review just written shows at once). */
import { SKU, errorResponse, forwardGet } from '$lib/room/settlement-proxy.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, request }) => {
  if (!SKU.test(params.sku)) return errorResponse(404, 'not_found', 'No such product');
  return forwardGet(`/products/${encodeURIComponent(params.sku)}/reviews`, request);
};
