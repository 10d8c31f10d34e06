import { error } from '@sveltejs/kit';
import { browser } from '$app/environment';
import type { Dictionary } from '$lib/i18n/format.ts';
import type { LayoutLoad } from './$types';

/**
 * The page's messages, in its language only (`t()` reads `page.data.messages`). The server
 * renders from the catalogues it holds; the browser fetches the one JSON file the server
 * named and the page preloaded, so no language's messages ride in the JavaScript.
 */
/** In the browser: the dictionary already loaded (the same file for the whole visit). */
let loaded: { url: string; messages: Dictionary } | null = null;

export const load: LayoutLoad = async ({ data, fetch }) => {
  let messages: Dictionary;
  if (!browser) {
    const { catalogues } = await import('$lib/i18n/translate.ts');
    messages = catalogues[data.locale];
  } else if (loaded?.url === data.messagesUrl) {
    messages = loaded.messages;
  } else {
    const res = await fetch(data.messagesUrl);
    if (!res.ok) error(503, 'Messages unavailable');
    messages = (await res.json()) as Dictionary;
    loaded = { url: data.messagesUrl, messages };
  }
  return { ...data, messages };
};
