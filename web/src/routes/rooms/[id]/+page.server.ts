/**
 * The room page's data (contract with the room engineer, see docs/web.md):
 * `{ room, me, token, roomServerUrl, first }` (`first`: the server-rendered first view,
 * lib/room/first-view.server.ts). Anyone who is not a member yet
 * (not signed in, or signed in but not in this room) goes to the join screen `/join/<code>`,
 * where joining is a POST: opening a link never changes anything.
 */
import { error, fail, redirect } from '@sveltejs/kit';
import { isRoomId } from '@patungan/model';
import { getDb } from '$lib/server/app.ts';
import { config } from '$lib/server/config.ts';
import { memberRole, roomById } from '$lib/server/rooms.ts';
import { isRemoved } from '$lib/server/room-removal.ts';
import { roomToken } from '$lib/server/tokens.ts';
import { startAgain } from '$lib/server/again.ts';
import { WebError } from '$lib/server/errors.ts';
import { firstView } from '$lib/room/first-view.server.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ params, locals }) => {
  if (!isRoomId(params.id)) error(404, 'No such room');
  const db = await getDb();
  const room = await roomById(db, params.id);
  if (!room) error(404, 'No such room');
  const user = locals.user;
  if (!user) redirect(303, `/join/${room.code}`);
  // The organiser always has their place (a row made with the room; kept for old rooms too).
  const role =
    (await memberRole(db, room.id, user.id)) ?? (room.organiserId === user.id ? 'organiser' : null);
  if (!role) redirect(303, `/join/${room.code}`);
  if (role !== 'organiser' && (await isRemoved(db, room.id, user.id))) error(403, 'removed');
  // The catalog's first page and the cart, so the first view is usable before Yjs arrives.
  const [first, token] = await Promise.all([firstView(room.id), roomToken(user, room.id, role)]);
  return {
    room: {
      id: room.id,
      code: room.code,
      name: room.name,
      currency: room.currency,
      organiserId: room.organiserId,
      deadline: room.deadline,
      budget: room.budget,
      status: room.status,
      inviteUrl: `${config.publicUrl}/join/${room.code}`,
    },
    me: { id: user.id, name: user.name, role, guest: user.guest },
    token,
    roomServerUrl: config.roomServerUrl,
    first,
  };
};

export const actions: Actions = {
  /** "Patungan lagi": a new room repeating this completed one (lib/server/again.ts). */
  again: async ({ params, locals }) => {
    if (!isRoomId(params.id)) error(404, 'No such room');
    const user = locals.user;
    if (!user) error(401, 'Sign in first');
    const db = await getDb();
    const room = await roomById(db, params.id);
    if (!room) error(404, 'No such room');
    let next: string;
    try {
      next = (await startAgain(db, user, room)).room.id;
    } catch (err) {
      if (err instanceof WebError) return fail(err.status, { again: err.code });
      throw err;
    }
    redirect(303, `/rooms/${next}`);
  },
};
