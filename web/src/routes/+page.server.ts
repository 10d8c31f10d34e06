import { isActionFailure, redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { acceptFriend, declineFriend, dismissInvite, inbox } from '$lib/server/friends.ts';
import { aboutUser, actor, failWith, fields, str } from '$lib/server/forms.ts';
import { log } from '$lib/server/log.ts';
import { ROOM_CURRENCIES, createRoom, myRooms } from '$lib/server/rooms.ts';
import type { Actions, PageServerLoad } from './$types';

/**
 * The home page works without scripts (links and plain POST forms), so it ships none: no
 * SvelteKit client, no Svelte runtime, no messages file (issue 11 item 12: ~48 KB of scripts
 * at 50 KB/s on a slow phone). What is live on it (the signed-in lists) is a small inline
 * script (`$lib/home/live.ts`). docs/decisions/0019-server-first-views.md.
 */
export const csr = false;

export const load: PageServerLoad = async ({ locals }) => {
  // `noClient`: the root layout leaves out the messages file the client would fetch.
  if (!locals.user)
    return {
      noClient: true,
      rooms: [],
      inbox: { requests: [], invites: [] },
      currencies: ROOM_CURRENCIES,
      live: '',
    };
  const db = await getDb();
  const rooms = await myRooms(db, locals.user.id);
  const box = locals.user.guest ? { requests: [], invites: [] } : await inbox(db, locals.user.id);
  return {
    noClient: true,
    rooms,
    inbox: box,
    currencies: ROOM_CURRENCIES,
    // What /api/me/live answers now, in its shape: the page's script swaps in fresh lists only
    // once a poll differs from it.
    live: JSON.stringify({
      rooms: rooms.map((r) => ({ id: r.id, status: r.status, memberCount: r.memberCount })),
      inbox: box,
    }),
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
    redirect(303, '/');
  },
  acceptFriend: thenHome(aboutUser(acceptFriend, { accepted: true })),
  declineFriend: thenHome(aboutUser(declineFriend, { declined: true })),
};

/**
 * The page has no client, so a plain POST answers: one that worked sends the browser back to
 * `/` (303), which shows the lists as they are now and keeps the address clean (no `?/action`
 * in it, and a reload does not post again); one that failed shows the page with its error.
 */
function thenHome<E>(action: (event: E) => Promise<unknown>) {
  return async (event: E) => {
    const result = await action(event);
    if (isActionFailure(result)) return result;
    redirect(303, '/');
  };
}
