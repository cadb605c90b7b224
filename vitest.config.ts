import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure code, no I/O, runs anywhere) and `integration` (`*.int.test.ts`,
// against the real Kafka, registry, Postgres and Redis that the global setup brings up).
export default defineConfig({
  test: {
    reporters: ['default', './test/src/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['*/test/**/*.test.ts', '*/src/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: ['**/node_modules/**', '.cache/**', '.data/**'],
          globalSetup: ['test/src/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
