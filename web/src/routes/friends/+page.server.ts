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
import { failWith, str } from '$lib/server/forms.ts';
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
    if (!locals.user) redirect(303, '/login');
    const form = await request.formData();
    const friendId = str(form.get('friendId'));
    try {
      const r = await addFriend(await getDb(), locals.user.id, friendId);
      return { added: r };
    } catch (err) {
      return failWith(err, { friendId });
    }
  },
  accept: async ({ request, locals }) => {
    if (!locals.user) redirect(303, '/login');
    try {
      await acceptFriend(
        await getDb(),
        locals.user.id,
        str((await request.formData()).get('userId')),
      );
    } catch (err) {
      return failWith(err);
    }
    return {};
  },
  decline: async ({ request, locals }) => {
    if (!locals.user) redirect(303, '/login');
    await declineFriend(
      await getDb(),
      locals.user.id,
      str((await request.formData()).get('userId')),
    );
    return {};
  },
  remove: async ({ request, locals }) => {
    if (!locals.user) redirect(303, '/login');
    await removeFriend(
      await getDb(),
      locals.user.id,
      str((await request.formData()).get('userId')),
    );
    return {};
  },
};
