/**
 * The home page's script (`live.inline.js`), inlined into the server-rendered page: the home
 * page is rendered without SvelteKit's client (`csr = false` in +page.server.ts), so a phone
 * downloads no JavaScript for it (issue 11 item 12; docs/decisions/0019-server-first-views.md).
 * Its hash is allowed in the CSP's script-src (svelte.config.js).
 */
import script from './live.inline.js?raw';

const escapeAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * The `<script>` for the signed-in home page (a signed-out visitor's gets none). `live`: what
 * /api/me/live would answer as the page is rendered (its JSON text), so a poll swaps nothing in
 * unless something changed since.
 */
export function homeScriptTag(live: string): string {
  return `<script data-live="${escapeAttr(live)}">${script}</script>`;
}
