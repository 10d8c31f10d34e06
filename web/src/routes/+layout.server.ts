import { catalogueUrl } from '$lib/i18n/catalogue.server.ts';
import { getDb } from '$lib/server/app.ts';
import { unreadCount } from '$lib/server/notify/store.ts';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async ({ locals }) => ({
  user: locals.user,
  // the bell's count in the header (notifications not yet read)
  notifyUnread: locals.user ? await unreadCount(await getDb(), locals.user.id) : 0,
  locale: locals.locale,
  // The browser fetches only this language's messages (preloaded by +layout.svelte).
  messagesUrl: catalogueUrl(locals.locale),
});
