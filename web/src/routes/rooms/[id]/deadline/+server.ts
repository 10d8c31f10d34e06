/**
 * `POST /rooms/<id>/deadline` `{deadline: ISO string | null}` → `{ok: true}`: the organiser's
 * deadline editor mirrors a set, moved or removed deadline into web's directory
 * (`rooms.deadline`, shown on the home page). The room's `meta.deadline` is the truth and
 * what acts (docs/contracts.md "Deadline"); the page writes it into the room itself.
 * 401 not signed in, 403 not the organiser, 404 unknown room, 400 a bad body.
 */
import { error, json } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { roomAccess } from '$lib/server/room-access.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ params, locals, request }) => {
  const { room, role } = await roomAccess(locals.user, params.id);
  if (role !== 'organiser') error(403, 'Only the organiser sets the deadline');
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    error(400, 'The body must be JSON {deadline: ISO time | null}');
  }
  const deadline = (body as { deadline?: unknown } | null)?.deadline;
  const at = typeof deadline === 'string' ? new Date(deadline) : null;
  if (deadline !== null && (at === null || !Number.isFinite(at.getTime()))) {
    error(400, 'The body must be JSON {deadline: ISO time | null}');
  }
  await (
    await getDb()
  ).query('UPDATE rooms SET deadline = $2 WHERE id = $1', [room.id, at ? at.toISOString() : null]);
  return json({ ok: true }, { headers: { 'cache-control': 'no-store' } });
};
