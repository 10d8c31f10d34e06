/** `GET /api/stores?lat=&lng=&skus=a:2,b&limit=` → settlement `GET /stores` (nearest first, with availability). */
import { checks, errorResponse, forwardGet, pickQuery } from '$lib/room/settlement-proxy.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ url, request }) => {
  const q = pickQuery(url, {
    lat: checks.coord(90),
    lng: checks.coord(180),
    skus: checks.skus,
    limit: checks.int(1, 100),
  });
  if (typeof q === 'string') return errorResponse(400, 'invalid', `bad query parameter ${q}`);
  return forwardGet(`/stores?${q}`, request);
};
