/** `GET /api/stores/<id>` → settlement `GET /stores/<id>` (name, address, city, position). */
import { STORE_ID, errorResponse, forwardGet } from '$lib/room/settlement-proxy.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, request }) => {
  if (!STORE_ID.test(params.id)) return errorResponse(404, 'not_found', 'No such store');
  return forwardGet(`/stores/${params.id}`, request, { cacheSeconds: 300 });
};
