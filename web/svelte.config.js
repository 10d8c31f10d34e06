import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
  kit: {
    adapter: adapter({ out: 'build' }),
    // Form actions are CSRF-safe through SvelteKit's origin check (on by default): a POST
    // whose Origin is not this app's ORIGIN is refused with 403.
    csrf: { trustedOrigins: [] },
  },
};

export default config;
