import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'db',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // a test's first PGlite database runs initdb: seconds, a minute on a busy machine
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
