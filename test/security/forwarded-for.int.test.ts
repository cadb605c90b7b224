import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressKey, clientAddress, createRedis, loadConfig } from '@chat/platform';
import { startStack, type Stack } from '@chat/infra';
import { RedisAbuseLimits } from '../../command-service/src/adapters/redis-abuse-limits.ts';
import { DEFAULT_THROTTLE } from '../../command-service/src/domain/log-in-throttle.ts';
import { SIGN_UP, TEST_PASSWORD } from '../src/accounts.ts';
import { gqlFrom } from '../src/from-address.ts';

// Issue 18, attack 6: the address that sign-up and log-in limits count was the first
// X-Forwarded-For entry, which the client writes itself: behind a proxy that appends, a
// client picked its address, and a fresh forged one was served again once limited. And an
// IPv6 host, which picks any address of its /64 at will, was counted address by address.
// Now the address is the rightmost hop that is not a trusted proxy (TRUST_PROXY: none by
// default, a hop count, or addresses), and limits count addressKey: an IPv6 address's /64.

let server: Server;
let url: string;
let trust: string | undefined;

beforeAll(async () => {
  // A real server answering each request with the address clientAddress finds for it.
  server = createServer((req, res) => res.end(clientAddress(req, trust)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function addressSeen(forwardedFor: string | undefined, trustProxy: string | undefined): Promise<string> {
  trust = trustProxy;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the client address', () => {
  it('is the socket peer unless a proxy is trusted, whatever the client writes in X-Forwarded-For', async () => {
    expect(await addressSeen('6.6.6.6', undefined)).toBe('127.0.0.1');
    expect(await addressSeen('6.6.6.6', '0')).toBe('127.0.0.1');
  });

  it('is the rightmost untrusted hop behind a proxy that appends: a forged leftmost entry is never taken', async () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; our one proxy (the socket peer) appended the address it saw.
    expect(await addressSeen('6.6.6.6, 203.0.113.9', '1')).toBe('203.0.113.9');
    expect(await addressSeen('6.6.6.6, 7.7.7.7, 203.0.113.9', '1')).toBe('203.0.113.9');
    expect(await addressSeen('6.6.6.6, 203.0.113.9', 'loopback')).toBe('203.0.113.9');
    // Two proxies of ours, by count or by address: the hop before them is the client.
    expect(await addressSeen('6.6.6.6, 203.0.113.9', '2')).toBe('6.6.6.6');
    expect(await addressSeen('6.6.6.6, 203.0.113.9', 'loopback, 203.0.113.0/24')).toBe('6.6.6.6');
    // No header behind a trusted proxy: the proxy itself.
    expect(await addressSeen(undefined, '1')).toBe('127.0.0.1');
  });
});

describe('per-address keys', () => {
  it('count an IPv6 address by its /64 and an IPv4-mapped one as its IPv4', () => {
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('make the sign-up limit count a whole /64, not each address in it', async () => {
    const config = loadConfig();
    const redis = createRedis(config);
    try {
      const limits = new RedisAbuseLimits(redis, `t-forwarded-for-${process.pid}-${Date.now()}:`, {
        signUpsPerAddressPerHour: 2,
        signOnStartsPerAddressPer10Min: 2,
        logInsPerAddressPer15Min: 3,
        commandsPerUserPer10s: 100,
        throttle: DEFAULT_THROTTLE,
      });
      expect(await limits.signUp('2001:db8:a:b::1')).toBeUndefined();
      expect(await limits.signUp('2001:db8:a:b::2')).toBeUndefined();
      // A third address of the same /64 is the same host network: refused.
      expect(await limits.signUp('2001:db8:a:b:ffff:eeee:dddd:3')).toMatchObject({ code: 'RATE_LIMITED' });
      expect(await limits.signUp('2001:db8:a:c::1')).toBeUndefined();
      expect(await limits.signUp('192.0.2.7')).toBeUndefined();
      expect(await limits.signUp('::ffff:192.0.2.7')).toBeUndefined();
      expect(await limits.signUp('192.0.2.7')).toMatchObject({ code: 'RATE_LIMITED' });
      // Log-in attempts from one /64 across usernames, likewise.
      for (const [i, address] of ['2001:db8:d::1', '2001:db8:d::2', '2001:db8:d::3'].entries()) {
        expect(await limits.logIn(`user${i}`, address)).toBeUndefined();
      }
      expect(await limits.logIn('user9', '2001:db8:d:0:1::9')).toMatchObject({ code: 'RATE_LIMITED' });
    } finally {
      redis.disconnect();
    }
  });
});

describe('through the stack', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('forwarded-for', { SIGN_UP_LIMIT_PER_ADDRESS: '2' });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('a client limited at its address is not served again by forging another', async () => {
    const from = '127.0.0.30';
    const signUpForging = async (username: string, forged: string) =>
      (
        await gqlFrom(from, stack.queryUrl, SIGN_UP, { username, password: TEST_PASSWORD }, undefined, {
          'x-forwarded-for': forged,
        })
      ).signUp as Record<string, unknown>;
    expect(await signUpForging('forger1', '198.51.100.1')).toMatchObject({ __typename: 'Session' });
    expect(await signUpForging('forger2', '198.51.100.2')).toMatchObject({ __typename: 'Session' });
    expect(await signUpForging('forger3', '198.51.100.3')).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await signUpForging('forger4', '198.51.100.4, 198.51.100.5')).toMatchObject({ code: 'RATE_LIMITED' });
    // Another client, at its own address, is served.
    const other = await gqlFrom('127.0.0.31', stack.queryUrl, SIGN_UP, { username: 'honest', password: TEST_PASSWORD });
    expect(other.signUp).toMatchObject({ __typename: 'Session' });
  });
});
