/**
 * `POST /rooms/<id>/token` → `{ token, expiresIn }`: a fresh join token for the signed-in
 * member (tokens expire after an hour; the room page refreshes before reconnecting).
 * 401 when not signed in, 403 when not a member, 404 for an unknown room.
 * A plain `fetch` from the page sends the cookie (same origin); SvelteKit's origin check
 * refuses cross-site form posts.
 */
import { error, json } from '@sveltejs/kit';
import { isRoomId } from '@patungan/model';
import { getDb } from '$lib/server/app.ts';
import { roomById } from '$lib/server/rooms.ts';
import { ROOM_TOKEN_TTL_SECONDS, roomToken } from '$lib/server/tokens.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ params, locals }) => {
  if (!locals.user) error(401, 'Sign in or join the room first');
  if (!isRoomId(params.id)) error(404, 'No such room');
  const db = await getDb();
  const room = await roomById(db, params.id);
  if (!room) error(404, 'No such room');
  const rows = await db.query<{ role: string }>(
    'SELECT role FROM room_members WHERE room_id = $1 AND user_id = $2',
    [room.id, locals.user.id],
  );
  if (!rows[0]) error(403, 'You are not a member of this room');
  const role = room.organiserId === locals.user.id ? 'organiser' : 'member';
  const token = await roomToken(locals.user, room.id, role);
  return json(
    { token, expiresIn: ROOM_TOKEN_TTL_SECONDS },
    { headers: { 'cache-control': 'no-store' } },
  );
};
