import { defineConfig } from 'vitest/config';

// Three projects: `unit` (pure code, no I/O, runs anywhere), `integration` (`*.int.test.ts`,
// against the real Kafka, registry, Postgres and Redis that the global setup brings up), and
// `docker` (test/docker: whole compose stacks in containers; `./chat test:docker` runs it).
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
      {
        test: {
          name: 'docker',
          include: ['test/docker/**/*.test.ts'],
          // One compose project at a time: each stack takes most of this machine.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
