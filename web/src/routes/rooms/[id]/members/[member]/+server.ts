/**
 * `POST /rooms/<id>/members/<member>` `{removed: boolean}` → `{ok: true}`: web's side of
 * leaving and removal (docs/contracts.md "Leaving and removal"). A member marks themselves as
 * left, the organiser marks anyone but themselves as removed, and only the organiser takes a
 * member back in; from then on web signs no join token for a removed member. The page writes
 * `members[<id>].removedAt` into the room itself, which is what the room-server enforces.
 * 401 not signed in, 403 not allowed, 404 unknown room or member, 400 a bad body.
 */
import { error, json } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { roomAccess } from '$lib/server/room-access.ts';
import { setRemoved } from '$lib/server/room-removal.ts';
import { log } from '$lib/server/log.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ params, locals, request }) => {
  const { room, user, role } = await roomAccess(locals.user, params.id);
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    error(400, 'The body must be JSON {removed: boolean}');
  }
  const removed = (body as { removed?: unknown } | null)?.removed;
  if (typeof removed !== 'boolean') error(400, 'The body must be JSON {removed: boolean}');
  const self = params.member === user.id;
  if (role !== 'organiser' && !(self && removed)) {
    error(403, 'Only the organiser can remove a member or take them back in');
  }
  if (params.member === room.organiserId) error(403, 'The organiser cannot leave the room');
  if (!(await setRemoved(await getDb(), room.id, params.member, removed))) {
    error(404, 'No such member in this room');
  }
  log.info(
    { roomId: room.id, memberId: params.member, by: user.id, removed },
    removed ? (self ? 'member left the room' : 'member removed') : 'member taken back in',
  );
  return json({ ok: true }, { headers: { 'cache-control': 'no-store' } });
};
