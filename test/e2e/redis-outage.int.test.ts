import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@chat/platform';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';
import { OwnRedis } from '../src/own-redis.ts';

// Redis only carries notifications: when the projector's Redis goes away, projection goes on
// (history and read-your-writes keep up), and live updates resume once Redis is back. The projector here gets a Redis server of this test's own, which the
// test stops and starts; the other services keep the shared one.

const CREATE_ROOM = `mutation { createRoom(name: "outage") { ... on RoomAccepted { roomId } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on MessageAccepted { receipt { projected } } } }`;
const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, first: 50) { edges { node { body } } } }`;

let stack: Stack;
let token: string;
let redis: OwnRedis;

beforeAll(async () => {
  redis = await OwnRedis.create();
  stack = await startStack('redis-outage');
  token = (await signUp(stack.commandUrl, 'otto')).accessToken;
  await stack.stopService('projector');
  await stack.startExtra('projector', { REDIS_URL: redis.url });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await redis.kill();
});

describe('a Redis outage on the projector side', () => {
  it('does not hold up projection, and live updates resume once Redis is back', async () => {
    const heard: string[] = [];
    const listener = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: null, retryStrategy: () => 200 });
    listener.on('error', () => undefined); // refused while the server is down: it reconnects
    listener.on('pmessage', (_p: string, _c: string, payload: string) => {
      for (const { event } of JSON.parse(payload) as { event: { type: string; message?: { body: string } } }[]) {
        if (event.type === 'MessageSent') heard.push(event.message!.body);
      }
    });
    await listener.psubscribe(`${stack.config.redisPrefix}room:*`);
    try {
      const roomId = (await gql(stack.commandUrl, CREATE_ROOM, {}, token)).createRoom.roomId as string;
      const send = async (body: string) => (await gql(stack.commandUrl, SEND, { roomId, body, id: body }, token)).sendMessage;
      expect(await send('before')).toMatchObject({ receipt: { projected: true } });
      await expect.poll(() => heard, { timeout: 10_000 }).toEqual(['before']);

      await redis.kill();
      // Each answer waits (bounded) for its projection: projected means the projector went on with Redis away.
      for (const body of ['during 1', 'during 2', 'during 3']) expect(await send(body)).toMatchObject({ receipt: { projected: true } });
      const history = (await gql(stack.queryUrl, HISTORY, { roomId }, token)).messages.edges.map((e: any) => e.node.body);
      expect(history).toEqual(['before', 'during 1', 'during 2', 'during 3']);
      expect(heard).toEqual(['before']);

      // Back: live updates resume. What was published while a subscriber was still reconnecting
      // is not heard by it (pub/sub keeps nothing); subscribers re-read from Postgres when their
      // connection is back, which is how the query service recovers it.
      await redis.start();
      await waitFor('the listener to be subscribed again', async () => (listener.status === 'ready' ? true : undefined), {
        timeoutMs: 10_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 200)); // its re-subscription goes out right after it is ready
      expect(await send('after')).toMatchObject({ receipt: { projected: true } });
      await expect.poll(() => heard.at(-1), { timeout: 10_000 }).toBe('after');
      expect(heard[0]).toBe('before');
      // In order, and nothing twice.
      expect(heard.filter((body) => body.startsWith('during'))).toEqual(
        ['during 1', 'during 2', 'during 3'].filter((b) => heard.includes(b)),
      );
      expect(new Set(heard).size).toBe(heard.length);
    } finally {
      listener.disconnect();
    }
  });
});
