import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'room-server',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    passWithNoTests: true,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
