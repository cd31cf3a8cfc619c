import { defineConfig } from 'vitest/config';

// Browser (Chromium) tests live in test/e2e and run with `npm run test:e2e`.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    exclude: ['test/e2e/**', '**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
