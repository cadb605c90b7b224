import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@chat/platform';
import { SERVICES, startStack, type Stack } from '@chat/infra';
import { startOtlpReceiver, type OtlpReceiver } from '../src/otlp-receiver.ts';

// Issue 18, attack 14: secrets in logs and traces. A bad configuration value was logged as
// given (up to 80 characters: a database URL with its password), and HTTP spans recorded
// query strings, the OIDC callback's code and state and the sign-on code among them. Now URLs'
// passwords and credential parameters are redacted in every log line and configuration
// problem, secrets' values are never shown, and every span's URL attributes are redacted.

const repo = new URL('../../', import.meta.url).pathname;
const PASSWORD = 'hunter2-do-not-log';

describe('a bad configuration', () => {
  it("names the bad variables without a password or a secret's value", () => {
    const run = spawnSync(process.execPath, [SERVICES['command-service'].entry], {
      cwd: repo,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: `mysql://chat:${PASSWORD}@db.internal:3306/chat`,
        REDIS_URL: `redis//:${PASSWORD}@cache.internal:6379`,
        INTERNAL_SECRET: PASSWORD,
        OIDC_REDIRECT_URI: `ftp://id.example/cb?code=${PASSWORD}`,
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    const output = run.stdout + run.stderr;
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'INTERNAL_SECRET', 'OIDC_REDIRECT_URI']) expect(output).toContain(name);
    expect(output).toContain('db.internal'); // still says where it pointed
    expect(output).not.toContain(PASSWORD);
  });
});

describe('spans of the sign-on callback', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack('secrets-in-spans', {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  it('carry no code, state or sign-on code in any URL, on either service', async () => {
    const code = `the-code-${crypto.randomUUID()}`;
    const state = `the-state-${crypto.randomUUID()}`;
    const signOnCode = `the-sign-on-code-${crypto.randomUUID()}`;
    // The provider's return to the one endpoint (proxied to the command service), and a client page's return.
    await fetch(`${stack.queryUrl.replace(/\/graphql$/, '')}/auth/oidc/callback?code=${code}&state=${state}&iss=x`).then((r) => r.text());
    await fetch(`${stack.queryUrl}?sign_on_code=${signOnCode}`).then((r) => r.text());
    const callbackSpans = await waitFor('the callback spans of both services', async () => {
      const found = receiver.spans.filter((s) =>
        Object.values(s.attributes).some((v) => typeof v === 'string' && v.includes('/auth/oidc/callback')),
      );
      return new Set(found.map((s) => s.service)).size >= 2 ? found : undefined;
    });
    expect(callbackSpans.some((s) => s.service === 'query-service')).toBe(true);
    expect(callbackSpans.some((s) => s.service === 'command-service')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the last batch
    const everything = JSON.stringify(receiver.spans);
    for (const secret of [code, state, signOnCode]) expect(everything).not.toContain(secret);
    expect(everything).toContain('code=REDACTED');
  });
});
