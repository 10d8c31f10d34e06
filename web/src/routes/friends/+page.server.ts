import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import {
  acceptFriend,
  addFriend,
  declineFriend,
  inbox,
  listFriends,
  removeFriend,
  sentRequests,
} from '$lib/server/friends.ts';
import { aboutUser, actor, failWith, fields } from '$lib/server/forms.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
  if (!locals.user) redirect(303, '/login?redirect=/friends');
  if (locals.user.guest) return { friends: [], sent: [], requests: [] };
  const db = await getDb();
  return {
    friends: await listFriends(db, locals.user.id),
    sent: await sentRequests(db, locals.user.id),
    requests: (await inbox(db, locals.user.id)).requests,
  };
};

export const actions: Actions = {
  add: async ({ request, locals }) => {
    const user = actor(locals);
    const { friendId } = fields(await request.formData(), 'friendId');
    try {
      return { added: await addFriend(await getDb(), user.id, friendId) };
    } catch (err) {
      return failWith(err, { friendId });
    }
  },
  accept: aboutUser(acceptFriend, {}),
  decline: aboutUser(declineFriend, {}),
  remove: aboutUser(removeFriend, {}),
};
