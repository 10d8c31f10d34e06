/**
 * `POST /rooms/<id>/token` → `{ token, expiresIn }`: a fresh join token for the signed-in
 * member (tokens expire after an hour; the room page refreshes before reconnecting).
 * 401 when not signed in, 403 when not a member, 404 for an unknown room.
 * A plain `fetch` from the page sends the cookie (same origin); SvelteKit's origin check
 * refuses cross-site form posts.
 */
import { json } from '@sveltejs/kit';
import { roomAccess } from '$lib/server/room-access.ts';
import { ROOM_TOKEN_TTL_SECONDS } from '$lib/server/tokens.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ params, locals }) => {
  const access = await roomAccess(locals.user, params.id);
  return json(
    { token: await access.token(), expiresIn: ROOM_TOKEN_TTL_SECONDS },
    { headers: { 'cache-control': 'no-store' } },
  );
};
