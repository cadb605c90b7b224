import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';

// Execute once, send to many: subscribers of one room with the same operation cost one
// GraphQL execution per event between them, counted by the query service's own metrics; an
// operation that selects a field depending on who asks is executed for each of its subscribers.
// An instance listens to its own rooms' channels only, and recovers what a Redis reconnect
// missed; the subscribers of an instance that dies resume on another from their cursors.

let stack: Stack;
const clients: Client[] = [];

beforeAll(async () => {
  stack = await startStack('fanout');
}, 180_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await stack?.stop();
});

const SHARED = `subscription($roomId: ID!, $after: String) { messageAdded(roomId: $roomId, after: $after) { sequence cursor body sender { username } } }`;
const PER_VIEWER = `subscription($roomId: ID!, $after: String) { messageAdded(roomId: $roomId, after: $after) { sequence body reactions { emoji me } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) { __typename } }`;

/** A counter of the query service's /metrics. */
async function counter(name: string): Promise<number> {
  const text = await (await fetch(`${stack.instance('query-service').internalUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

describe('subscription fan-out', () => {
  it('executes a shared operation once per event for 100 subscribers, and a per-viewer one once per subscriber', async () => {
    const owner = (await signUp(stack.commandUrl, 'fanowner')).accessToken;
    const roomId = (await gql(stack.commandUrl, `mutation { createRoom(name: "fan-out") { ... on RoomAccepted { roomId } } }`, {}, owner))
      .createRoom.roomId as string;
    const members: string[] = [];
    for (let u = 0; u < 20; u++) {
      const token = (await signUp(stack.commandUrl, `fan${u}`)).accessToken;
      expect((await gql(stack.commandUrl, JOIN, { roomId }, token)).joinRoom.__typename).toBe('RoomAccepted');
      members.push(token);
    }
    const messages = 6; // one to be sure every subscription is live, then five to count
    type Added = { messageAdded: { sequence: number } };
    const subscriptions: ReturnType<typeof collect<Added>>[] = [];
    for (let s = 0; s < 100; s++) {
      const client = wsClient(stack.queryWsUrl, members[s % members.length]);
      clients.push(client);
      subscriptions.push(collect<Added>(client, SHARED, { roomId, after: '0' }, messages));
    }
    for (let s = 0; s < 3; s++) {
      const client = wsClient(stack.queryWsUrl, members[s]);
      clients.push(client);
      subscriptions.push(collect<Added>(client, PER_VIEWER, { roomId, after: '0' }, messages));
    }
    const receivedAll = (n: number) => subscriptions.every((s) => s.items.length >= n);

    await gql(stack.commandUrl, SEND, { roomId, body: 'warm-up', key: 'warm-up' }, owner);
    await expect.poll(() => receivedAll(1), { timeout: 20_000 }).toBe(true);
    const [executions, results] = [
      await counter('graphql_subscription_executions_total'),
      await counter('graphql_subscription_results_total'),
    ];
    for (let m = 1; m < messages; m++) await gql(stack.commandUrl, SEND, { roomId, body: `m${m}`, key: `m${m}` }, owner);
    const all = await Promise.all(subscriptions.map((s) => s.done));

    for (const items of all) expect(items.map((i) => i.messageAdded.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    // Five events: one shared execution each, plus one per subscriber of the per-viewer operation.
    expect((await counter('graphql_subscription_executions_total')) - executions).toBe(5 * (1 + 3));
    expect((await counter('graphql_subscription_results_total')) - results).toBe(5 * 103);
  }, 120_000);

  it('subscribes an instance to the channels of its own rooms only, and recovers what a Redis reconnect missed', async () => {
    const redis = new Redis(stack.config.redisUrl);
    const channels = async () => (await redis.pubsub('CHANNELS', `${stack.config.redisPrefix}room:*`)) as string[];
    try {
      const token = (await signUp(stack.commandUrl, 'fanlone')).accessToken;
      const create = `mutation { createRoom(name: "alone") { ... on RoomAccepted { roomId } } }`;
      const [watched, unwatched] = [
        (await gql(stack.commandUrl, create, {}, token)).createRoom.roomId as string,
        (await gql(stack.commandUrl, create, {}, token)).createRoom.roomId as string,
      ];
      const before = await channels();
      const client = wsClient(stack.queryWsUrl, token);
      clients.push(client);
      const subscription = collect<{ messageAdded: { body: string } }>(client, SHARED, { roomId: watched, after: '0' }, 2);
      await expect
        .poll(async () => (await channels()).filter((c) => !before.includes(c)))
        .toEqual([`${stack.config.redisPrefix}room:${watched}`]);
      await gql(stack.commandUrl, SEND, { roomId: unwatched, body: 'nobody listens', key: 'u1' }, token);

      // The query service's subscriber connection dropped: a message sent meanwhile still arrives.
      const fanoutConnection = ((await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
        .split('\n')
        .find((line) => line.includes(` name=${stack.config.redisPrefix}fanout `));
      await redis.client('KILL', 'ID', /\bid=(\d+)/.exec(fanoutConnection ?? '')![1]!);
      await gql(stack.commandUrl, SEND, { roomId: watched, body: 'during the reconnect', key: 'w1' }, token);
      await gql(stack.commandUrl, SEND, { roomId: watched, body: 'after it', key: 'w2' }, token);
      expect((await subscription.done).map((i) => i.messageAdded.body)).toEqual(['during the reconnect', 'after it']);

      subscription.unsubscribe();
      await expect.poll(async () => (await channels()).filter((c) => !before.includes(c))).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 60_000);

  it('moves the subscribers of a SIGKILLed instance to another with their cursors: no gap, no duplicate', async () => {
    const other = await stack.startExtra('query-service');
    const urls = [stack.queryWsUrl, other.url.replace(/^http/, 'ws')];
    const token = (await signUp(stack.commandUrl, 'fanmover')).accessToken;
    const roomId = (await gql(stack.commandUrl, `mutation { createRoom(name: "moving") { ... on RoomAccepted { roomId } } }`, {}, token))
      .createRoom.roomId as string;
    const total = 20;

    /** A client that, when its socket dies, subscribes again on the other instance from the last sequence it saw. */
    const resuming = (first: number) => {
      const seen: number[] = [];
      let cursor = '0';
      let reconnects = 0;
      const subscribe = (instance: number) => {
        const client = wsClient(urls[instance]!, token);
        clients.push(client);
        client.subscribe<{ messageAdded: { sequence: number; cursor: string } }>(
          { query: SHARED, variables: { roomId, after: cursor } },
          {
            next: ({ data }) => {
              if (!data) return;
              seen.push(data.messageAdded.sequence);
              cursor = data.messageAdded.cursor;
            },
            error: () => {
              reconnects++;
              subscribe(1 - instance);
            },
            complete: () => undefined,
          },
        );
      };
      subscribe(first);
      return { seen, reconnects: () => reconnects };
    };
    const subscribers = [0, 0, 0, 1, 1, 1].map(resuming);
    for (let m = 1; m <= total; m++) {
      if (m === 8) other.signal('SIGKILL');
      await gql(stack.commandUrl, SEND, { roomId, body: `moving ${m}`, key: `moving-${m}` }, token);
    }
    const everything = Array.from({ length: total }, (_, i) => i + 1);
    await expect.poll(() => subscribers.map((s) => s.seen.length), { timeout: 20_000 }).toEqual(subscribers.map(() => total));
    for (const subscriber of subscribers) expect(subscriber.seen).toEqual(everything);
    expect(subscribers.map((s) => s.reconnects())).toEqual([0, 0, 0, 1, 1, 1]);
  }, 60_000);
});
