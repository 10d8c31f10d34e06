/**
 * `GET /api/stores/<id>?skus=` → one store (name, address, availability). Settlement lists stores
 * rather than serving one, so this picks it out of the list.
 */
import { json } from '@sveltejs/kit';
import { config } from '$lib/server/config.ts';
import { STORE_ID, checks, errorResponse, pickQuery } from '$lib/room/settlement-proxy.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, url, request }) => {
  if (!STORE_ID.test(params.id)) return errorResponse(404, 'not_found', 'No such store');
  const q = pickQuery(url, { skus: checks.skus });
  if (typeof q === 'string') return errorResponse(400, 'invalid', `bad query parameter ${q}`);
  let res: Response;
  try {
    res = await fetch(`${config.settlementUrl}/stores?${q}`, {
      signal: AbortSignal.any([request.signal, AbortSignal.timeout(10_000)]),
    });
  } catch {
    return errorResponse(502, 'settlement_unavailable', 'The shop is not reachable right now.');
  }
  if (!res.ok)
    return new Response(await res.text(), {
      status: res.status,
      headers: { 'content-type': 'application/json' },
    });
  const { items } = (await res.json()) as { items: { id: string }[] };
  const store = items.find((s) => s.id === params.id);
  if (!store) return errorResponse(404, 'not_found', 'No such store');
  return json(store, { headers: { 'cache-control': 'no-store' } });
};
