import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Client } from 'graphql-ws';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { gql, wsClient } from '../src/graphql.ts';

// Live events at the live edge skip graphql-ws and envelop: each shared execution's result is
// serialised once and written to every subscriber's socket with its id around it
// (query-service/src/adapters/live-frames.ts). What must still hold: every subscriber gets
// every event exactly once, in order; each message is the very bytes graphql-ws would have sent;
// and a subscriber that comes back with its cursor gets the gap replayed, then live, with no
// duplicate, while the others keep being written to directly.

let stack: Stack;
const clients: Client[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  stack = await startStack('live-frames');
}, 180_000);

afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await Promise.all(clients.map((c) => c.dispose()));
  await stack?.stop();
});

const LIVE = `subscription($roomId: ID!, $after: String) { messageAdded(roomId: $roomId, after: $after) { sequence cursor body sender { username } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) { __typename } }`;

interface Added {
  messageAdded: { sequence: number; cursor: string; body: string; sender: { username: string } };
}

/**
 * A subscriber on a raw socket speaking graphql-transport-ws, keeping each message's text as it
 * came: graphql-ws would have sent JSON.stringify({ id, type, payload }), so parsing and
 * stringifying it again in that key order must give the same bytes back.
 */
async function rawSubscriber(token: string, id: string, variables: Record<string, unknown>) {
  const socket = new WebSocket(stack.queryWsUrl, 'graphql-transport-ws');
  sockets.push(socket);
  const texts: string[] = [];
  const items: Added[] = [];
  let completed = false;
  socket.on('message', (data: Buffer) => {
    const text = data.toString();
    const message = JSON.parse(text) as { id?: string; type: string; payload?: { data?: Added; errors?: unknown } };
    if (message.type === 'connection_ack') {
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: LIVE, variables } }));
      return;
    }
    if (message.type === 'complete') completed = true;
    if (message.type !== 'next') return;
    texts.push(text);
    expect(message.payload?.errors).toBeUndefined();
    items.push(message.payload!.data!);
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  return { socket, texts, items, completed: () => completed };
}

async function counter(name: string): Promise<number> {
  const text = await (await fetch(`${stack.instance('query-service').internalUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

describe('live frames', () => {
  it('writes every event once, in order, as graphql-ws bytes to many subscribers, while one that reconnects gets its gap then live', async () => {
    const owner = (await signUp(stack.commandUrl, 'frameowner')).accessToken;
    const roomId = (await gql(stack.commandUrl, `mutation { createRoom(name: "frames") { ... on RoomAccepted { roomId } } }`, {}, owner))
      .createRoom.roomId as string;
    const members: string[] = [];
    for (let u = 0; u < 10; u++) {
      const token = (await signUp(stack.commandUrl, `framer${u}`)).accessToken;
      expect((await gql(stack.commandUrl, JOIN, { roomId }, token)).joinRoom.__typename).toBe('RoomAccepted');
      members.push(token);
    }
    // Forty raw sockets (ids of every shape JSON must escape), and ten graphql-ws clients, all from the start.
    const raw = await Promise.all(
      Array.from({ length: 40 }, (_, s) => rawSubscriber(members[s % members.length]!, `sub "${s}" ✓`, { roomId, after: '0' })),
    );
    const viaClient = Array.from({ length: 10 }, (_, s) => {
      const client = wsClient(stack.queryWsUrl, members[s]);
      clients.push(client);
      const items: Added[] = [];
      client.subscribe<Added>(
        { query: LIVE, variables: { roomId, after: '0' } },
        {
          next: ({ data, errors }) => (errors ? items.push({ error: errors } as never) : items.push(data!)),
          error: () => {},
          complete: () => {},
        },
      );
      return items;
    });
    const sequences = (items: Added[]) => items.map((i) => i.messageAdded.sequence);
    const send = (n: number) => gql(stack.commandUrl, SEND, { roomId, body: `m${n}`, key: `m${n}` }, owner);

    await send(1);
    await expect.poll(() => [...raw.map((r) => r.items.length), ...viaClient.map((i) => i.length)].every((n) => n === 1)).toBe(true);
    const framesBefore = await counter('graphql_subscription_frames_total');

    // The one that reconnects: a subscriber that sees 1 to 10, leaves, and comes back from its cursor while messages keep coming.
    const total = 60;
    const leaving = await rawSubscriber(members[0]!, 'leaving', { roomId, after: '0' });
    for (let n = 2; n <= 10; n++) await send(n);
    await expect.poll(() => sequences(leaving.items).length).toBe(10);
    leaving.socket.close();
    const cursor = leaving.items.at(-1)!.messageAdded.cursor;
    const sending = (async () => {
      for (let n = 11; n <= total; n++) await send(n);
    })();
    await expect.poll(() => raw[0]!.items.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(20);
    const back = await rawSubscriber(members[0]!, 'back', { roomId, after: cursor });
    await sending;

    const every = Array.from({ length: total }, (_, i) => i + 1);
    await expect.poll(() => sequences(back.items).at(-1), { timeout: 20_000 }).toBe(total);
    expect([...sequences(leaving.items), ...sequences(back.items)]).toEqual(every);
    for (const subscriber of raw) await expect.poll(() => sequences(subscriber.items), { timeout: 20_000 }).toEqual(every);
    for (const items of viaClient) await expect.poll(() => sequences(items), { timeout: 20_000 }).toEqual(every);

    for (const { texts } of [...raw, leaving, back]) {
      for (const text of texts) {
        const { id, type, payload } = JSON.parse(text) as Record<string, unknown>;
        expect(text).toBe(JSON.stringify({ id, type, payload }));
      }
    }
    expect(JSON.parse(raw[7]!.texts[0]!)).toMatchObject({ id: 'sub "7" ✓', type: 'next' });
    expect(raw[3]!.items.map((i) => [i.messageAdded.body, i.messageAdded.sender.username])).toEqual(
      every.map((n) => [`m${n}`, 'frameowner']),
    );
    // The live messages after the first went straight to the sockets: most of the 59 to each of the 50 subscribers that stayed.
    expect((await counter('graphql_subscription_frames_total')) - framesBefore).toBeGreaterThan(50 * 30);
    expect(raw.some((r) => r.completed())).toBe(false);
  }, 180_000);
});
