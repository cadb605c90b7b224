import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SERVICES, type ServiceName } from '@chat/infra';

// A service given a bad environment stops before it connects to anything, exits non-zero, and
// names every bad variable in one message.

const repo = new URL('../../', import.meta.url).pathname;
const BAD = {
  KAFKA_BROKERS: 'kafka-without-a-port',
  DATABASE_URL: 'mysql://somewhere/chat',
  QUERY_PORT: 'eighty',
  COMMAND_PORT: '70000',
  ACCESS_TOKEN_TTL_SECONDS: '-5',
  GRAPHQL_PLAYGROUND: 'maybe',
  OIDC_ISSUER: 'https://id.example',
};

describe('a bad configuration', () => {
  for (const service of Object.keys(SERVICES) as ServiceName[]) {
    it(`stops the ${service} at once, naming every bad variable`, () => {
      const run = spawnSync(process.execPath, [SERVICES[service].entry], {
        cwd: repo,
        env: { PATH: process.env.PATH, ...BAD },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status).toBe(2);
      const output = run.stdout + run.stderr;
      const lines = output.trim().split('\n');
      expect(lines).toHaveLength(1); // one message, no stack trace
      for (const name of [...Object.keys(BAD).filter((n) => n !== 'OIDC_ISSUER'), 'OIDC_CLIENT_ID']) expect(output).toContain(name);
      expect(output).toContain('kafka-without-a-port'); // what was given, to find the typo by
    });
  }
});
