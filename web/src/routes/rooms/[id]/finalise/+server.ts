/**
 * `POST /rooms/<id>/finalise` → the room-server's finalise, same origin.
 *
 * The browser cannot call the room-server's HTTP routes with an `Authorization` header from
 * another origin (no CORS there, on purpose: its HTTP side is for services). This route signs
 * an organiser token for the signed-in organiser and forwards the JSON body, passing the
 * room-server's status and body straight through (202 `{settlementId}`, or the 409 / 422
 * refusal the page shows). 401 not signed in, 403 not the organiser, 404 unknown room.
 */
import { error, json } from '@sveltejs/kit';
import { isRoomId } from '@patungan/model';
import { getDb } from '$lib/server/app.ts';
import { config } from '$lib/server/config.ts';
import { roomById } from '$lib/server/rooms.ts';
import { roomToken } from '$lib/server/tokens.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ params, locals, request }) => {
  if (!locals.user) error(401, 'Sign in or join the room first');
  if (!isRoomId(params.id)) error(404, 'No such room');
  const db = await getDb();
  const room = await roomById(db, params.id);
  if (!room) error(404, 'No such room');
  if (room.organiserId !== locals.user.id) error(403, 'Only the organiser can finalise');
  const body = await request.text();
  if (body.length > 4096) error(413, 'Request too large');
  const token = await roomToken(locals.user, room.id, 'organiser');
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
