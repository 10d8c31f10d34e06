/** `GET /api/stores/<id>/stock/stream` → settlement's Server-Sent Events of stock changes. */
import { STORE_ID, errorResponse, forwardStream } from '$lib/room/settlement-proxy.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, request }) => {
  if (!STORE_ID.test(params.id)) return errorResponse(404, 'not_found', 'No such store');
  return forwardStream(`/stores/${params.id}/stock/stream`, request);
};
