import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/app.ts';
import { actor, fields } from '$lib/server/forms.ts';
import { render } from '$lib/server/notify/messages.ts';
import { listNotifications, markRead, notificationById } from '$lib/server/notify/store.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
  if (!locals.user) redirect(303, '/login?redirect=/notifications');
  const list = await listNotifications(await getDb(), locals.user.id);
  return {
    // worded here, in the reader's language (a push was worded in its device's)
    notifications: list.map((n) => ({
      id: n.id,
      createdAt: n.createdAt,
      unread: n.readAt === null,
      ...render(n, locals.locale),
    })),
  };
};

export const actions: Actions = {
  /** Opening one marks it read and goes where it points. */
  open: async ({ request, locals }) => {
    const user = actor(locals);
    const { id } = fields(await request.formData(), 'id');
    const db = await getDb();
    const n = id ? await notificationById(db, id) : null;
    if (!n || n.userId !== user.id) redirect(303, '/notifications');
    await markRead(db, user.id, n.id);
    redirect(303, render(n, locals.locale).url);
  },
  readAll: async ({ locals }) => {
    const user = actor(locals);
    await markRead(await getDb(), user.id);
    return { read: true };
  },
};
