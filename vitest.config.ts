import { defineConfig } from 'vitest/config';

// Each workspace is a vitest project; `npm test` at the root runs them all.
export default defineConfig({
  test: {
    projects: ['model', 'db', 'room-server', 'settlement', 'web', 'load-tests'].map(
      (p) => `${p}/vitest.config.ts`,
    ),
  },
});
