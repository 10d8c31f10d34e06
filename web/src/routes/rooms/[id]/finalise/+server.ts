/**
 * `POST /rooms/<id>/finalise` → the room-server's finalise, same origin.
 *
 * The browser cannot call the room-server's HTTP routes with an `Authorization` header from
 * another origin (no CORS there, on purpose: its HTTP side is for services). This route signs
 * the signed-in member's join token (their own role in the room) and forwards the JSON body,
 * passing the room-server's status and body straight through (202 `{settlementId}`, the 403
 * for anyone but the room's organiser, or the 409 / 422 refusal the page shows). 401 not
 * signed in, 403 not a member, 404 unknown room.
 *
 * Who may finalise is checked once, by the room-server against the document's organiser
 * (docs/decisions/0007-one-route-from-the-browser.md): this route only says who is asking.
 */
import { error, json } from '@sveltejs/kit';
import { config } from '$lib/server/config.ts';
import { roomAccess } from '$lib/server/room-access.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ params, locals, request }) => {
  const { room, token: sign } = await roomAccess(locals.user, params.id);
  const body = await request.text();
  if (body.length > 4096) error(413, 'Request too large');
  const token = await sign();
  let res: Response;
  try {
    res = await fetch(`${config.roomServerHttpUrl}/rooms/${encodeURIComponent(room.id)}/finalise`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body || '{}',
      signal: AbortSignal.timeout(15_000),
    });
  } catch {
    error(502, 'The room server is not reachable; try again in a moment');
  }
  const text = await res.text();
  let payload: unknown;
  try {
    payload = text ? JSON.parse(text) : {};
  } catch {
    payload = { error: { code: 'bad_gateway', message: 'Unexpected answer from the room server' } };
  }
  return json(payload, { status: res.status, headers: { 'cache-control': 'no-store' } });
};
