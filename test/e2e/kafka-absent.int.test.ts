import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ROOT } from '@chat/infra';

// The end-to-end test must fail, never skip, when Kafka is not there. Run it in a child
// vitest pointed at a port where nothing listens, and read the verdict.

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('without Kafka', () => {
  it('the walking-skeleton test fails instead of skipping', async () => {
    const port = await closedPort();
    const run = spawnSync(
      process.execPath,
      [`${ROOT}node_modules/vitest/vitest.mjs`, 'run', '--project', 'integration', 'test/e2e/walking-skeleton.int.test.ts'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, KAFKA_BROKERS: `127.0.0.1:${port}`, INFRA_WAIT_MS: '3000', NO_COLOR: '1', CI: 'true' },
        timeout: 120_000,
      },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).toBe(1);
    expect(output).toMatch(/waiting for Kafka at 127\.0\.0\.1:\d+/);
    // Nothing passed and nothing was skipped: the run as a whole failed.
    expect(output).toMatch(/^tests: 0 passed, \d+ failed, 0 skipped$/m);
  }, 150_000);
});
