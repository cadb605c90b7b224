import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Instance, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';

// Issue 18, attack 2: subscriptions over HTTP (Server-Sent Events, or multipart incremental
// delivery, both on by default in Yoga) skipped every session control of graphql-ws: a stream
// opened with a token kept delivering after logOut, and ten streams started at once right after
// graphql-ws answered RATE_LIMITED. Subscriptions are now served over graphql-ws only, where
// the caps, the subscribe rate limit and the closing on log-out and expiry are; asked over
// HTTP in any form, one is refused with SUBSCRIPTION_TRANSPORT and delivers nothing.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('sse');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const LIVE = `subscription($roomId: ID!) { messageAdded(roomId: $roomId) { body } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) { __typename } }`;

interface Stream {
  status: number;
  contentType: string | null;
  /** Everything the stream sent until it ended or was cut. */
  text: Promise<string>;
}

/** A subscription over HTTP as a browser's EventSource (or a multipart client) would ask it, read for at most `forMs`. */
async function overHttp(url: string, accept: string, token: string, roomId: string, forMs = 3000, method = 'POST'): Promise<Stream> {
  const abort = new AbortController();
  const body = JSON.stringify({ query: LIVE, variables: { roomId } });
  const response = await fetch(
    method === 'GET' ? `${url}?${new URLSearchParams({ query: LIVE, variables: JSON.stringify({ roomId }) })}` : url,
    {
      method,
      headers: { accept, authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      ...(method === 'POST' ? { body } : {}),
      signal: abort.signal,
    },
  );
  const cut = setTimeout(() => abort.abort(), forMs);
  const text = (async () => {
    let all = '';
    try {
      const reader = response.body!.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) all += Buffer.from(read.value).toString();
    } catch {
      // cut by the deadline: what arrived is what counts
    }
    clearTimeout(cut);
    return all;
  })();
  return { status: response.status, contentType: response.headers.get('content-type'), text };
}

async function newRoom(token: string): Promise<string> {
  return (await gql(stack.commandUrl, `mutation { createRoom(name: "streams") { ... on RoomAccepted { roomId } } }`, {}, token)).createRoom
    .roomId as string;
}

describe('subscriptions over HTTP', () => {
  it('are refused with SUBSCRIPTION_TRANSPORT in every form, and a stream opened before a log-out delivers nothing after it', async () => {
    const user = await signUp(stack.commandUrl, 'streamer');
    const roomId = await newRoom(user.accessToken);
    const streams = await Promise.all([
      overHttp(stack.queryUrl, 'text/event-stream', user.accessToken, roomId),
      overHttp(stack.queryUrl, 'text/event-stream', user.accessToken, roomId, 3000, 'GET'),
      overHttp(stack.queryUrl, 'multipart/mixed', user.accessToken, roomId),
    ]);
    const friend = (await signUp(stack.commandUrl, 'friend')).accessToken;
    await gql(stack.commandUrl, `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`, { roomId }, friend);
    await gql(stack.commandUrl, `mutation { logOut { __typename } }`, {}, user.accessToken);
    expect((await gql(stack.commandUrl, SEND, { roomId, body: 'after log-out', key: 'after' }, friend)).sendMessage.__typename).toBe(
      'MessageAccepted',
    );
    const [post, get, multipart] = streams as [Stream, Stream, Stream];
    for (const sse of [post, get]) {
      const text = await sse.text;
      expect(text).toContain('"code":"SUBSCRIPTION_TRANSPORT"');
      expect(text).not.toContain('after log-out');
      expect(text).toMatch(/event: complete/); // ended at once, not held open
    }
    // Incremental delivery is not offered for a refused subscription: 406, nothing streamed.
    expect(multipart.status).toBe(406);
    expect(await multipart.text).toBe('');
    // The same token is refused for queries since the log-out, as before.
    await expect(gql(stack.queryUrl, `{ me { id } }`, {}, user.accessToken)).rejects.toMatchObject({ codes: ['UNAUTHENTICATED'] });
  });

  it('cannot go round the subscribe rate limit: ten streams right after graphql-ws answered RATE_LIMITED deliver nothing', async () => {
    const strict: Instance = await stack.startExtra('query-service', { SUBSCRIBE_LIMIT_PER_USER: '2' });
    const user = await signUp(stack.commandUrl, 'burster');
    const roomId = await newRoom(user.accessToken);
    const client = wsClient(strict.url.replace('http', 'ws'), user.accessToken);
    try {
      const admitted = [collect<any>(client, LIVE, { roomId }, 1), collect<any>(client, LIVE, { roomId }, 1)];
      await new Promise((resolve) => setTimeout(resolve, 300));
      await expect(collect<any>(client, LIVE, { roomId }, 1).done).rejects.toThrow(/RATE_LIMITED/);

      const streams = await Promise.all(
        Array.from({ length: 10 }, () => overHttp(strict.url, 'text/event-stream', user.accessToken, roomId, 4000)),
      );
      await gql(stack.commandUrl, SEND, { roomId, body: 'one message', key: 'one' }, user.accessToken);
      // The two admitted over graphql-ws get it; none of the ten streams does.
      expect(await Promise.all(admitted.map((s) => s.done))).toEqual([
        [{ messageAdded: { body: 'one message' } }],
        [{ messageAdded: { body: 'one message' } }],
      ]);
      for (const stream of streams) {
        const text = await stream.text;
        expect(text).toContain('SUBSCRIPTION_TRANSPORT');
        expect(text).not.toContain('one message');
      }
    } finally {
      await client.dispose();
      await strict.stop();
    }
  });

  it('still serves queries over SSE, through the same admission as any query', async () => {
    const user = await signUp(stack.commandUrl, 'reader');
    const response = await fetch(stack.queryUrl, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` },
      body: JSON.stringify({ query: `{ me { username } }` }),
    });
    expect(await response.text()).toContain('"username":"reader"');
  });
});
