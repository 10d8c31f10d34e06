import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

// The room page's one inline script of its own (src/lib/room/early-socket.ts): allowed by hash.
const earlySocket = readFileSync(
  new URL('./src/lib/room/early-socket.inline.js', import.meta.url),
  'utf8',
);
/** @type {`sha256-${string}`} */
const earlySocketHash = `sha256-${createHash('sha256').update(earlySocket).digest('base64')}`;
// The room's first view keeps taps on "add" made before the scripts (src/lib/room/first-taps.svelte.ts).
const firstTaps = readFileSync(
  new URL('./src/lib/room/first-taps.inline.js', import.meta.url),
  'utf8',
);
/** @type {`sha256-${string}`} */
const firstTapsHash = `sha256-${createHash('sha256').update(firstTaps).digest('base64')}`;
// The home page's script (src/lib/home/live.ts; the page ships no SvelteKit client).
const homeLive = readFileSync(new URL('./src/lib/home/live.inline.js', import.meta.url), 'utf8');
/** @type {`sha256-${string}`} */
const homeLiveHash = `sha256-${createHash('sha256').update(homeLive).digest('base64')}`;

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
  kit: {
    // Static assets ship precompressed (.br, .gz next to each file; sirv picks by Accept-Encoding).
    adapter: adapter({ out: 'build', precompress: true }),
    // Stylesheets up to 6 KB (the shell's global CSS) go inline into the server-rendered page:
    // one round trip less before the first paint on a slow phone (issue 11, docs/benchmarks.md).
    inlineStyleThreshold: 6144,
    // Links and form actions rendered as absolute paths (`/join`, not `./join`): the home page is
    // never hydrated (csr = false), so what the server writes is what stays in the page.
    paths: { relative: false },
    // Form actions are CSRF-safe through SvelteKit's origin check (on by default): a POST
    // whose Origin is not this app's ORIGIN is refused with 403.
    csrf: { trustedOrigins: [] },
    // Content-Security-Policy on every page (issue 10): SvelteKit adds a nonce (or, for
    // prerendered pages, a hash) for its own inline scripts, so no other script runs but the
    // room page's early socket and the home page's script, allowed by their hashes.
    // hooks.server.ts appends this deployment's room-server origin (the room's WebSocket) to
    // connect-src at run time (it comes from the environment, not the build); settlement is
    // reached through this site only.
    // Styles allow 'unsafe-inline': Svelte sets style attributes and transition styles.
    csp: {
      mode: 'auto',
      directives: {
        'default-src': ['self'],
        'script-src': ['self', earlySocketHash, firstTapsHash, homeLiveHash],
        'style-src': ['self', 'unsafe-inline'],
        'img-src': ['self', 'data:', 'blob:', 'https:'],
        'font-src': ['self', 'data:'],
        'connect-src': ['self'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self'],
        'frame-ancestors': ['none'],
      },
    },
  },
};

export default config;
