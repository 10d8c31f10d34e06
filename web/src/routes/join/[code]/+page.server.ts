/**
 * The invite link `/join/<code>`. A signed-in user joins with one click; anyone else joins as
 * a guest with just a display name (a new guest user and session), or logs in first.
 */
import { error, redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { createGuest, createSession, userById } from '$lib/server/auth.ts';
import { echo, failWith, str } from '$lib/server/forms.ts';
import { log } from '$lib/server/log.ts';
import { joinRoom, roomByCode } from '$lib/server/rooms.ts';
import { setSessionCookie } from '$lib/server/session.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ params }) => {
  const db = await getDb();
  const room = await roomByCode(db, params.code);
  if (!room) error(404, 'No room has this code');
  const organiser = await userById(db, room.organiserId);
  return {
    room: { id: room.id, code: room.code, name: room.name, currency: room.currency },
    organiserName: organiser?.name ?? '',
  };
};

export const actions: Actions = {
  default: async (event) => {
    const db = await getDb();
    const room = await roomByCode(db, event.params.code);
    if (!room) error(404, 'No room has this code');
    let user = event.locals.user;
    if (!user) {
      const form = await event.request.formData();
      const name = str(form.get('name'));
      try {
        user = await createGuest(db, name);
      } catch (err) {
        return failWith(err, { name: echo(name) });
      }
      setSessionCookie(event.cookies, event.url, await createSession(db, user.id));
      log.info({ userId: user.id, roomId: room.id }, 'guest joined');
    }
    await joinRoom(db, room, user.id);
    redirect(303, `/rooms/${room.id}`);
  },
};
