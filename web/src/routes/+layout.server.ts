import { catalogueUrl } from '$lib/i18n/catalogue.server.ts';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = ({ locals }) => ({
  user: locals.user,
  locale: locals.locale,
  // The browser fetches only this language's messages (preloaded by +layout.svelte).
  messagesUrl: catalogueUrl(locals.locale),
});
