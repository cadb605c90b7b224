import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '@chat/infra';
import { LOG_IN, TEST_PASSWORD, signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';
import { OwnRedis } from '../src/own-redis.ts';

// Issue 18, attack 13: revocation depended on Redis alone. Redis runs without persistence and
// revocations were written again only when the command service started, so a Redis restart
// after a log-out brought the revoked access token back until it expired. Now Postgres is the
// record and Redis a cache that says whether it is whole: a lost cache makes checks ask
// Postgres or refuse, and the command service rebuilds it as soon as Redis is back. The whole
// stack runs on a Redis server of this test's own, which the test kills and starts empty.

const ME = `query { me { id } }`;
const LOG_OUT = `mutation { logOut { __typename ... on LoggedOut { sessionId } ... on CommandError { code message } } }`;
const CREATE_ROOM = `mutation { createRoom(name: "revoked?") { __typename ... on RoomAccepted { roomId } ... on CommandError { code message } } }`;

let stack: Stack;
let redis: OwnRedis;

beforeAll(async () => {
  redis = await OwnRedis.create();
  stack = await startStack('revocation-restart', { REDIS_URL: redis.url });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await redis?.kill();
});

/** What the query side answers `me` with a token: 'ok', or the error's code. */
async function querySide(token: string): Promise<string> {
  try {
    await gql(stack.queryUrl, ME, {}, token);
    return 'ok';
  } catch (error) {
    return String((error as { codes?: unknown[] }).codes?.[0] ?? error);
  }
}

/** What the command side answers a token with: 'ok' or the error's code. */
async function commandSide(token: string): Promise<string> {
  try {
    const { createRoom } = await gql(stack.commandUrl, CREATE_ROOM, {}, token);
    return createRoom.__typename === 'RoomAccepted' ? 'ok' : createRoom.code;
  } catch (error) {
    return String((error as { codes?: unknown[] }).codes?.[0] ?? error);
  }
}

describe('a Redis restart after a log-out', () => {
  it('never brings the revoked access token back', async () => {
    const revoked = await signUp(stack.commandUrl, 'rhea');
    const other = (await gql(stack.commandUrl, LOG_IN, { username: 'rhea', password: TEST_PASSWORD })).logIn as { accessToken: string };
    expect(await querySide(revoked.accessToken)).toBe('ok');
    expect((await gql(stack.commandUrl, LOG_OUT, {}, revoked.accessToken)).logOut).toMatchObject({ __typename: 'LoggedOut' });
    expect(await querySide(revoked.accessToken)).toBe('UNAUTHENTICATED');

    await redis.kill();
    await redis.start(); // empty: the revocation key is gone

    // From the first request after the restart on, on both services, the revoked token is refused
    // (or, while nothing can be known, the service is unavailable): never served.
    const seen = new Set<string>();
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      seen.add(await querySide(revoked.accessToken));
      seen.add(await commandSide(revoked.accessToken));
    }
    expect(seen.has('ok')).toBe(false);
    // Once the command service has rebuilt the cache from Postgres, refused as revoked, and the
    // other session of the same user is served again.
    await expect.poll(() => querySide(revoked.accessToken), { timeout: 15_000 }).toBe('UNAUTHENTICATED');
    expect(await commandSide(revoked.accessToken)).toBe('UNAUTHENTICATED');
    await expect.poll(() => querySide(other.accessToken), { timeout: 15_000 }).toBe('ok');
  });
});
