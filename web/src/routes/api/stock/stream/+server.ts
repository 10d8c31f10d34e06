/**
 * `GET /api/stock/stream?stores=a,b,c` → settlement's live stock (Server-Sent Events) for up to
 * ten stores in one stream: a `snapshot` event per store, then a `stock` event per change,
 * each naming its `storeId`. The store picker watches the nearest stores with it and the staff
 * page its own store; one stream per page keeps long-lived connections off the browser's
 * six-per-origin budget now that the browser talks to this site only
 * (docs/decisions/0007-one-route-from-the-browser.md). Bytes pass through as settlement sends
 * them, read only as fast as the browser takes them; the upstream stream ends when the browser
 * leaves.
 */
import { STORE_ID, errorResponse, forwardStream } from '$lib/room/settlement-proxy.server.ts';
import type { RequestHandler } from './$types';

/** As settlement's own limit (MAX_STREAM_STORES). */
const MAX_STORES = 10;

export const GET: RequestHandler = async ({ url, request }) => {
  const ids = [...new Set((url.searchParams.get('stores') ?? '').split(','))];
  if (!ids.every((id) => STORE_ID.test(id)) || ids.length > MAX_STORES)
    return errorResponse(400, 'invalid', `stores: a comma list of 1–${MAX_STORES} store ids`);
  return forwardStream(`/stock/stream?stores=${ids.join(',')}`, request);
};
