import { fileURLToPath } from 'node:url';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig, type Plugin } from 'vite';

/**
 * `BUNDLE_REPORT=1 npx vite build` prints each browser chunk's largest modules (sizes before
 * minification): what the first view on a phone carries (docs/benchmarks.md "Web on a phone").
 */
function bundleReport(): Plugin {
  return {
    name: 'patungan-bundle-report',
    apply: 'build',
    generateBundle(_options, bundle) {
      if (!process.env.BUNDLE_REPORT || this.environment.config.build.ssr) return;
      const chunks = Object.values(bundle).flatMap((c) => (c.type === 'chunk' ? [c] : []));
      for (const c of chunks.sort((a, b) => b.code.length - a.code.length)) {
        const mods = Object.entries(c.modules)
          .sort((a, b) => b[1].renderedLength - a[1].renderedLength)
          .slice(0, 12)
          .map(
            ([id, m]) =>
              `    ${String(m.renderedLength).padStart(7)} ${id.replace(/^.*node_modules\//, '')}`,
          );
        console.log(`${c.fileName} ${c.code.length} B\n${mods.join('\n')}`);
      }
    },
  };
}

export default defineConfig({
  plugins: [sveltekit(), bundleReport()],
  resolve: {
    // Yjs's logging without lib0's DOM console (and lib0/dom, lib0/schema): src/lib/room/lib0-logging.ts.
    alias: [
      {
        find: /^lib0\/logging$/,
        replacement: fileURLToPath(new URL('./src/lib/room/lib0-logging.ts', import.meta.url)),
      },
    ],
  },
  // Native and WASM packages stay outside the server bundle; Node loads them from node_modules.
  ssr: {
    external: ['@node-rs/argon2', '@electric-sql/pglite', 'postgres', 'pino', 'qrcode', 'ws'],
  },
  optimizeDeps: { exclude: ['@electric-sql/pglite'] },
});
