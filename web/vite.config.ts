import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [sveltekit()],
  // Native and WASM packages stay outside the server bundle; Node loads them from node_modules.
  ssr: {
    external: ['@node-rs/argon2', '@electric-sql/pglite', 'postgres', 'pino', 'qrcode', 'ws'],
  },
  optimizeDeps: { exclude: ['@electric-sql/pglite'] },
});
