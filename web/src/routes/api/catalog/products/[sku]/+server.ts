/** `GET /api/catalog/products/<sku>` → settlement `GET /products/<sku>`. */
import { SKU, errorResponse, forwardGet } from '$lib/room/settlement-proxy.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, request }) => {
  if (!SKU.test(params.sku)) return errorResponse(404, 'not_found', 'No such product');
  return forwardGet(`/products/${encodeURIComponent(params.sku)}`, request, { cacheSeconds: 60 });
};
