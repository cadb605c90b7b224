import { ApolloClient, InMemoryCache, gql as parse } from '@apollo/client';
import { ApolloLink } from '@apollo/client/link';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startStack, type Stack } from '@chat/infra';
import { signUp, type TestUser } from '../src/accounts.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';
import { ResumingWsLink } from '../../web/src/client/resuming-ws-link.ts';

// The web client's subscriptions outlast an error that passes. Apollo ends a subscription on
// its first error, so a room view whose subscription the server refused once (RATE_LIMITED
// after a burst of reconnects, UNAVAILABLE while Postgres could not be read) stopped updating
// for good, with nothing on the screen to say so. The web client's link (ResumingWsLink) now
// starts it again, from its last cursor, once the server's wait is over; an error that would
// come again (not a member) still ends it. Run with Apollo Client and graphql-ws in Node, as
// the browser runs them, against a stack that allows two subscriptions per user per 10 s.

const ROOM_EVENTS = `subscription RoomEvents($roomId: ID!, $after: String) {
  roomEvents(roomId: $roomId, after: $after) { __typename ... on MessageSentEvent { cursor message { body } } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) {
  sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) { __typename } }`;

let stack: Stack;
let ruth: TestUser;
let roomId: string;
const sockets: Client[] = [];

beforeAll(async () => {
  stack = await startStack('live-resubscribe', { SUBSCRIBE_LIMIT_PER_USER: '2' });
  ruth = await signUp(stack.commandUrl, 'ruth');
  const { createRoom } = await gql(
    stack.queryUrl,
    `mutation { createRoom(name: "persistent") { ... on RoomAccepted { roomId } } }`,
    {},
    ruth.accessToken,
  );
  roomId = createRoom.roomId;
}, 180_000);

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await stack?.stop();
});

function webClientLink(): ApolloClient {
  const ws = createClient({
    url: stack.queryUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${ruth.accessToken}` },
    retryAttempts: Infinity,
    shouldRetry: () => true,
  });
  sockets.push(ws);
  return new ApolloClient({ link: ApolloLink.from([new ResumingWsLink(ws)]), cache: new InMemoryCache() });
}

async function send(body: string) {
  const { sendMessage } = await gql(stack.queryUrl, SEND, { roomId, body, key: body }, ruth.accessToken);
  expect(sendMessage.__typename).toBe('MessageAccepted');
}

describe("the web client's live link", () => {
  it('starts a subscription again after RATE_LIMITED, from where it was, and misses nothing', async () => {
    // Two starts use up this 10 s window; a third, at once, is refused: the link's first try will be too.
    const raw = wsClient(stack.queryUrl.replace(/^http/, 'ws'), ruth.accessToken);
    sockets.push(raw);
    const held = [collect(raw, ROOM_EVENTS, { roomId }, 1), collect(raw, ROOM_EVENTS, { roomId }, 1)];
    await expect(collect(raw, ROOM_EVENTS, { roomId }, 1).done).rejects.toThrow(/too many subscriptions started/);

    // As a room view does: from the cursor its history was read at.
    const { room } = await gql(stack.queryUrl, `query($id: ID!) { room(id: $id) { eventCursor } }`, { id: roomId }, ruth.accessToken);
    const received: string[] = [];
    const errors: unknown[] = [];
    const subscription = webClientLink()
      .subscribe({ query: parse(ROOM_EVENTS), variables: { roomId, after: room.eventCursor } })
      .subscribe({
        next: (result) => {
          if (result.error) errors.push(result.error);
          const event = (result.data as { roomEvents?: { message?: { body: string } } } | undefined)?.roomEvents;
          if (event?.message) received.push(event.message.body);
        },
        error: (error: unknown) => errors.push(error),
      });
    // Sent while the link waits out the refusal: it must come with the replay once it is served.
    await send('while refused');
    await expect.poll(() => received, { timeout: 30_000 }).toEqual(['while refused']);
    await send('live again');
    await expect.poll(() => received, { timeout: 15_000 }).toEqual(['while refused', 'live again']);
    expect(errors).toEqual([]);
    subscription.unsubscribe();
    for (const h of held) h.unsubscribe();
  });

  it('ends a subscription with an error that would come again (not a member), and does not retry it', async () => {
    const stranger = await signUp(stack.commandUrl, 'stranger');
    const ws = createClient({
      url: stack.queryUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${stranger.accessToken}` },
    });
    sockets.push(ws);
    const client = new ApolloClient({ link: new ResumingWsLink(ws), cache: new InMemoryCache() });
    const ended = new Promise<unknown>((resolve) =>
      client.subscribe({ query: parse(ROOM_EVENTS), variables: { roomId, after: null } }).subscribe({
        next: (result) => resolve(result.error ?? result),
        error: resolve,
      }),
    );
    expect(JSON.stringify(await ended)).toMatch(/NOT_A_MEMBER|not a member/i);
  });
});
