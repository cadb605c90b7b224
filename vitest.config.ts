import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure code, no I/O, runs anywhere) and `integration` (`*.int.test.ts`,
// against the real Kafka, registry, Postgres and Redis that the global setup brings up).
export default defineConfig({
  test: {
    reporters: ['default', './test/src/summary-reporter.ts'],
    projects: [
      {
        // graphql 16 has no "exports" map: Vite would pick its ESM build while Pothos, loaded
        // by Node, gets the CommonJS one, and graphql refuses types from two copies.
        resolve: { alias: { graphql: 'graphql/index.js' } },
        test: {
          name: 'unit',
          include: ['*/test/**/*.test.ts', '*/src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        // As for unit tests: one copy of graphql, for tests that run a service's schema in-process.
        resolve: { alias: { graphql: 'graphql/index.js' } },
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
