import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '@chat/infra';

// Issue 18, attack 15 (in part): anonymous GET /auth/oidc/start was unlimited, and each call
// stored a flow in Redis for 10 minutes. Now starts are limited per client address
// (SIGN_ON_START_LIMIT_PER_ADDRESS per 10 minutes, by addressKey). The identity provider here
// is one that cannot be reached: a start under the limit answers 503, one over it 429 before
// anything is tried or stored. Clients are loopback addresses of the one endpoint.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('sign-on-flood', {
    OIDC_ISSUER: 'http://127.0.0.1:9/unreachable',
    OIDC_CLIENT_ID: 'chat',
    SIGN_ON_START_LIMIT_PER_ADDRESS: '3',
  });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

/** GET /auth/oidc/start on the one endpoint from `localAddress`: the status and the answer's body. */
function start(localAddress: string): Promise<{ status: number; body: string }> {
  const url = new URL('/auth/oidc/start', stack.queryUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('anonymous sign-on starts', () => {
  it('are limited per client address', async () => {
    const flooder = '127.0.0.40';
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await start(flooder));
    expect(answers.slice(0, 3).map((a) => a.status)).not.toContain(429);
    expect(answers.slice(3).map((a) => a.status)).toEqual([429, 429]);
    const refusal = JSON.parse(answers[4]!.body) as { error: string; retryAfterSeconds: number };
    expect(refusal.error).toBe('RATE_LIMITED');
    expect(refusal.retryAfterSeconds).toBeGreaterThan(0);
    // Another address is not held up by the flooder.
    expect((await start('127.0.0.41')).status).not.toBe(429);
  });
});
