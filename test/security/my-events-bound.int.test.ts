import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '@chat/infra';
import { signUp, type TestUser } from '../src/accounts.ts';
import { gql, wsClient } from '../src/graphql.ts';

// Issue 18, unbounded lists: myEvents followed every room of its user, one Redis channel and
// one listener per room and per subscription, on every instance: a user in thousands of rooms
// who opened it hundreds of times made each instance hold hundreds of thousands of listeners.
// Now a user's myEvents streams on one instance share one follower of at most
// ROOMS_PER_USER rooms (3 on the two query services under test); a user in more is refused
// with LIMIT_REACHED, a join past it ends the streams with LIMIT_REACHED, and on every
// instance the user's rooms are then let go. The command side refuses to put a user in more
// rooms than ROOMS_PER_USER (4 in this stack, one more than the followers', so that they can
// be pushed past theirs).

const LIMIT = 3;
const COMMAND_LIMIT = LIMIT + 1;
let stack: Stack;
let redis: Redis;

beforeAll(async () => {
  stack = await startStack('myevents_bound', { ROOMS_PER_USER: String(COMMAND_LIMIT) });
  redis = new Redis(stack.config.redisUrl);
}, 180_000);

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

const MY_EVENTS = `subscription { myEvents { __typename ... on UnreadChangedEvent { roomId } ... on RoomJoinedEvent { roomId } } }`;
const CREATE = `mutation($name: String!) { createRoom(name: $name) { ... on RoomAccepted { roomId } ... on CommandError { code } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename ... on CommandError { code } } }`;
const OPEN_DIRECT = `mutation($userId: ID!) { openDirect(userId: $userId) { __typename ... on CommandError { code } } }`;
const LEAVE = `mutation($roomId: ID!) { leaveRoom(roomId: $roomId) { __typename ... on CommandError { code } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) { __typename } }`;

interface Watched {
  events: { __typename: string; roomId?: string }[];
  /** The codes it ended with, or 'complete'. */
  ended: Promise<unknown[] | 'complete'>;
}

/** A myEvents stream: its events, and how it ended (an iteration error arrives as an `error` message). */
function watch(client: ReturnType<typeof wsClient>): Watched {
  const events: Watched['events'] = [];
  const ended = new Promise<unknown[] | 'complete'>((resolve) => {
    client.subscribe<{ myEvents: Watched['events'][number] }>(
      { query: MY_EVENTS },
      {
        next: (result) => {
          if (result.errors) return resolve(result.errors.map((e) => e.extensions?.code));
          events.push(result.data!.myEvents);
        },
        error: (error) =>
          resolve(Array.isArray(error) ? error.map((e: { extensions?: { code?: unknown } }) => e.extensions?.code) : [error]),
        complete: () => resolve('complete'),
      },
    );
  });
  return { events, ended };
}

async function mutate(user: TestUser, query: string, variables: Record<string, unknown>) {
  return Object.values(await gql(stack.queryUrl, query, variables, user.accessToken))[0] as { roomId?: string; code?: string };
}

/** How many query-service instances hold each room's Redis channel. */
async function instancesFollowing(roomIds: string[]): Promise<number[]> {
  const reply = (await redis.pubsub('NUMSUB', ...roomIds.map((id) => `${stack.config.redisPrefix}room:${id}`))) as (string | number)[];
  return reply.filter((_, i) => i % 2 === 1).map(Number);
}

describe('myEvents of a user in many rooms', () => {
  it('follows at most the bound on every instance, ends with LIMIT_REACHED past it, and lets every room go', async () => {
    const followers = await Promise.all([0, 1].map(() => stack.startExtra('query-service', { ROOMS_PER_USER: String(LIMIT) })));
    const urls = followers.map((follower) => follower.url.replace(/^http/, 'ws'));
    const [hoarder, host] = await Promise.all([signUp(stack.commandUrl, 'hoarder'), signUp(stack.commandUrl, 'host')]);
    const rooms: string[] = [];
    for (let i = 0; i < LIMIT; i++) rooms.push((await mutate(hoarder, CREATE, { name: `mine ${i}` })).roomId!);
    const extra = (await mutate(host, CREATE, { name: 'one too many' })).roomId!;

    // At the bound: many streams on both instances, each room followed once per instance.
    const clients = urls.map((url) => wsClient(url, hoarder.accessToken));
    try {
      const streams = clients.flatMap((client) => Array.from({ length: 5 }, () => watch(client)));
      await expect.poll(() => instancesFollowing(rooms), { timeout: 10_000 }).toEqual([2, 2, 2]);
      await mutate(host, JOIN, { roomId: rooms[0] });
      await mutate(host, SEND, { roomId: rooms[0], body: 'hello', key: crypto.randomUUID() });
      await expect
        .poll(() => streams.every((s) => s.events.some((e) => e.__typename === 'UnreadChangedEvent' && e.roomId === rooms[0])), {
          timeout: 10_000,
        })
        .toBe(true);

      // One room past it: every stream on every instance ends with LIMIT_REACHED, and lets its rooms go.
      expect(await mutate(hoarder, JOIN, { roomId: extra })).toMatchObject({ __typename: 'RoomAccepted' });
      for (const stream of streams) expect(await stream.ended).toEqual(['LIMIT_REACHED']);
      await expect.poll(() => instancesFollowing([...rooms, extra]), { timeout: 10_000 }).toEqual([0, 0, 0, 0]);

      // A new stream is refused on either instance, holding nothing.
      for (const client of clients) expect(await watch(client).ended).toEqual(['LIMIT_REACHED']);
      expect(await instancesFollowing([...rooms, extra])).toEqual([0, 0, 0, 0]);

      // Back at the bound, myEvents works again.
      expect(await mutate(hoarder, LEAVE, { roomId: extra })).toMatchObject({ __typename: 'RoomAccepted' });
      const again = watch(clients[1]!);
      await expect.poll(() => instancesFollowing(rooms), { timeout: 10_000 }).toEqual([1, 1, 1]);
      await mutate(host, SEND, { roomId: rooms[0], body: 'still here', key: crypto.randomUUID() });
      await expect.poll(() => again.events.map((e) => e.__typename), { timeout: 10_000 }).toContain('UnreadChangedEvent');
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  }, 120_000);

  it('is not let in to more rooms than ROOMS_PER_USER by the command side, however it asks', async () => {
    const [crowded, friend] = await Promise.all([signUp(stack.commandUrl, 'crowded'), signUp(stack.commandUrl, 'friend')]);
    const rooms: string[] = [];
    for (let i = 0; i < COMMAND_LIMIT; i++) rooms.push((await mutate(crowded, CREATE, { name: `full ${i}` })).roomId!);
    const open = (await mutate(friend, CREATE, { name: 'open door' })).roomId!;

    expect(await mutate(crowded, CREATE, { name: 'one more' })).toMatchObject({ code: 'LIMIT_REACHED' });
    expect(await mutate(crowded, JOIN, { roomId: open })).toMatchObject({ code: 'LIMIT_REACHED' });
    // A direct room counts for both: neither side can add the full user to one more room.
    expect(await mutate(crowded, OPEN_DIRECT, { userId: friend.userId })).toMatchObject({ code: 'LIMIT_REACHED' });
    expect(await mutate(friend, OPEN_DIRECT, { userId: crowded.userId })).toMatchObject({ code: 'LIMIT_REACHED' });
    // Joining a room one is in already changes nothing, and is no room more.
    expect(await mutate(crowded, JOIN, { roomId: rooms[0] })).toMatchObject({ __typename: 'RoomAccepted' });

    expect(await mutate(crowded, LEAVE, { roomId: rooms[0] })).toMatchObject({ __typename: 'RoomAccepted' });
    expect(await mutate(crowded, JOIN, { roomId: open })).toMatchObject({ __typename: 'RoomAccepted' });
  }, 120_000);
});
