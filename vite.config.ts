import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Monte Carlo and CLI tests do real work on a 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
