/** `GET /api/catalog/products?q=&category=&page=&size=` → settlement `GET /products`. */
import { checks, errorResponse, forwardGet, pickQuery } from '$lib/room/settlement-proxy.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ url, request }) => {
  const q = pickQuery(url, {
    q: checks.text(100),
    category: checks.text(64),
    page: checks.int(1, 10_000),
    size: checks.int(1, 100),
  });
  if (typeof q === 'string') return errorResponse(400, 'invalid', `bad query parameter ${q}`);
  return forwardGet(`/products?${q}`, request, { cacheSeconds: 30 });
};
