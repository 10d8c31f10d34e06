import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { acceptFriend, declineFriend, dismissInvite, inbox } from '$lib/server/friends.ts';
import { aboutUser, actor, failWith, fields, str } from '$lib/server/forms.ts';
import { log } from '$lib/server/log.ts';
import { ROOM_CURRENCIES, createRoom, myRooms } from '$lib/server/rooms.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
  if (!locals.user)
    return { rooms: [], inbox: { requests: [], invites: [] }, currencies: ROOM_CURRENCIES };
  const db = await getDb();
  return {
    rooms: await myRooms(db, locals.user.id),
    inbox: locals.user.guest ? { requests: [], invites: [] } : await inbox(db, locals.user.id),
    currencies: ROOM_CURRENCIES,
  };
};

export const actions: Actions = {
  create: async ({ request, locals }) => {
    const user = actor(locals);
    const form = await request.formData();
    const values = fields(form, 'name', 'currency', 'deadline', 'budget');
    const tz = Number(str(form.get('tz')));
    let room;
    try {
      room = await createRoom(await getDb(), user.id, {
        ...values,
        tzOffsetMinutes: Number.isFinite(tz) && Math.abs(tz) <= 14 * 60 ? tz : 0,
      });
    } catch (err) {
      // createRoom names the room field `name`; the page calls it roomName.
      const res = failWith(err, values);
      if (res.data.error.field === 'name') res.data.error.key = 'error.roomName';
      return res;
    }
    log.info({ userId: user.id, roomId: room.id }, 'room created');
    redirect(303, `/rooms/${room.id}`);
  },
  dismissInvite: async ({ request, locals }) => {
    const user = actor(locals);
    const form = await request.formData();
    await dismissInvite(await getDb(), user.id, str(form.get('roomId')));
    return { dismissed: true };
  },
  acceptFriend: aboutUser(acceptFriend, { accepted: true }),
  declineFriend: aboutUser(declineFriend, { declined: true }),
};
