import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import WebSocket from 'ws';
import { createKafka, GRAPHQL_LIMITS, quoteIdent, roomCursor, topicName } from '@chat/platform';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { collect, gql, instanceFetch, wsClient } from '../src/graphql.ts';
import { topicSize } from '../src/kafka.ts';

// Anyone can send us a document: its shape and size are bounded on both endpoints before any
// of it runs, each refusal with its code, and a refused mutation appends nothing.

let stack: Stack;
let token: string;
let roomId: string;

beforeAll(async () => {
  // The playground and introspection are off unless enabled; this stack has them, as development does.
  stack = await startStack('limits', { GRAPHQL_INTROSPECTION: 'on', GRAPHQL_PLAYGROUND: 'on' });
  token = (await signUp(stack.commandUrl, 'lima')).accessToken;
  roomId = (await gql(stack.commandUrl, `mutation { createRoom(name: "limits") { ... on RoomAccepted { roomId } } }`, {}, token)).createRoom
    .roomId as string;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

/** The codes of the errors a raw POST answers with, and its HTTP status. */
async function post(url: string, body: string): Promise<{ status: number; codes: unknown[] }> {
  const response = await instanceFetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  });
  const text = await response.text();
  const parsed = (() => {
    try {
      return JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
    } catch {
      return {};
    }
  })();
  return { status: response.status, codes: (parsed.errors ?? []).map((e) => e.extensions?.code) };
}

const roomEvents = () => topicSize(createKafka(stack.config, 'test-limits'), topicName(stack.config.topicPrefix, 'roomEvents'));
const send = (i: number) => `m${i}: sendMessage(roomId: "${roomId}", body: "flood", clientMessageId: "k${i}") { __typename }`;

describe('request limits', () => {
  it('refuses thousands of aliased sends, and more than a handful of mutations, appending nothing', async () => {
    const before = await roomEvents();
    const flood = await post(
      stack.commandUrl,
      JSON.stringify({ query: `mutation { ${Array.from({ length: 5000 }, (_, i) => send(i)).join(' ')} }` }),
    );
    expect(flood.codes).toContain('QUERY_TOO_COMPLEX');
    const six = await post(
      stack.commandUrl,
      JSON.stringify({ query: `mutation { ${Array.from({ length: 6 }, (_, i) => send(i)).join(' ')} }` }),
    );
    expect(six.codes).toEqual(['TOO_MANY_MUTATIONS']);
    expect(await roomEvents()).toBe(before);
    // The handful itself goes through.
    const five = await gql(stack.commandUrl, `mutation { ${Array.from({ length: 5 }, (_, i) => send(i)).join(' ')} }`, {}, token);
    expect(Object.values(five).map((r: any) => r.__typename)).toEqual(Array(5).fill('MessageAccepted'));
  });

  it('refuses too many aliases, too deep documents and pages in pages on the query side, not a full page of history', async () => {
    const aliases = await post(
      stack.queryUrl,
      JSON.stringify({ query: `{ ${Array.from({ length: 20_000 }, (_, i) => `a${i}: me { id }`).join(' ')} }` }),
    );
    expect(aliases.codes).toContain('QUERY_TOO_COMPLEX');
    const nest = (depth: number): string => (depth === 0 ? 'id' : `replyTo { ${nest(depth - 1)} }`);
    const deep = await post(stack.queryUrl, JSON.stringify({ query: `{ message(id: "${crypto.randomUUID()}") { ${nest(20)} } }` }));
    expect(deep.codes).toContain('QUERY_TOO_COMPLEX');
    const pagesInPages = `{ myRooms(first: 200) { edges { node { members(first: 200) { edges { node { userId role } } } } } } }`;
    expect((await post(stack.queryUrl, JSON.stringify({ query: pagesInPages }))).codes).toContain('QUERY_TOO_COMPLEX');
    const fullPage = `{ messages(roomId: "${roomId}", last: 200) { edges { node { id body sender { username } replyTo { id body } reactions { emoji count me } } } } }`;
    expect(await post(stack.queryUrl, JSON.stringify({ query: fullPage }))).toEqual({ status: 200, codes: [] });
    const fine = await post(stack.queryUrl, JSON.stringify({ query: `{ me { id username } }` }));
    expect(fine).toEqual({ status: 200, codes: [] });
    // The playground's own introspection stays within the limits.
    const introspection = await post(stack.queryUrl, JSON.stringify({ query: getIntrospectionQuery({ descriptions: true }) }));
    expect(introspection).toEqual({ status: 200, codes: [] });
  });

  it('refuses a body over the size limit over HTTP, and closes a socket that sends a message over it', async () => {
    const big = await post(
      stack.commandUrl,
      JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(GRAPHQL_LIMITS.bytes) } }),
    );
    expect(big.status).toBe(413);
    // The one endpoint reads bodies itself, within the same bound.
    const bigAtEndpoint = await post(
      stack.queryUrl,
      JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(GRAPHQL_LIMITS.bytes) } }),
    );
    expect(bigAtEndpoint).toEqual({ status: 413, codes: ['TOO_LARGE'] });
    const justUnder = await post(
      stack.queryUrl,
      JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(GRAPHQL_LIMITS.bytes - 100) } }),
    );
    expect(justUnder).toEqual({ status: 200, codes: [] });
    // Bodies that are not a GraphQL request get Yoga's own answer, as when Yoga read them itself.
    for (const body of ['not json', '{}', '[]', '"text"', '{"query": 5}'])
      expect((await post(stack.queryUrl, body)).codes).toEqual(['BAD_REQUEST']);

    const socket = new WebSocket(stack.queryWsUrl, 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(GRAPHQL_LIMITS.bytes) } }));
    expect(await closed).toBe(1009);
  });

  it('fails a subscription whose document does not parse, leaving the socket and its other subscriptions alone', async () => {
    const client = wsClient(stack.queryWsUrl, token);
    try {
      const live = collect<any>(client, `subscription($roomId: ID!) { messageAdded(roomId: $roomId) { body } }`, { roomId }, 1);
      const broken = collect<any>(client, `subscription { messageAdded(roomId: "x" { body }`, {}, 1);
      await expect(broken.done).rejects.toThrow(/Syntax Error/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await gql(
        stack.commandUrl,
        `mutation { sendMessage(roomId: "${roomId}", body: "still here", clientMessageId: "after-broken") { __typename } }`,
        {},
        token,
      );
      expect(await live.done).toEqual([{ messageAdded: { body: 'still here' } }]);
    } finally {
      await client.dispose();
    }
  });

  it('refuses cursors past the room’s end, of another room, of the wrong kind or made up, with INVALID_INPUT, appending nothing', async () => {
    const other = (await gql(stack.commandUrl, `mutation { createRoom(name: "elsewhere") { ... on RoomAccepted { roomId } } }`, {}, token))
      .createRoom.roomId as string;
    await gql(
      stack.commandUrl,
      `mutation { sendMessage(roomId: "${other}", body: "there", clientMessageId: "o1") { __typename } }`,
      {},
      token,
    );
    const HISTORY = `query($roomId: ID!, $after: String) { messages(roomId: $roomId, after: $after) { edges { cursor } } }`;
    const otherCursor = (await gql(stack.queryUrl, HISTORY, { roomId: other }, token)).messages.edges[0].cursor as string;

    const client = wsClient(stack.queryWsUrl, token);
    const refusal = (query: string, after: string) => collect<any>(client, query, { roomId, after }, 1).done;
    const MESSAGES = `subscription($roomId: ID!, $after: String) { messageAdded(roomId: $roomId, after: $after) { body } }`;
    const EVENTS = `subscription($roomId: ID!, $after: String) { roomEvents(roomId: $roomId, after: $after) { __typename } }`;
    try {
      await expect(refusal(MESSAGES, roomCursor('message', roomId, 100_000))).rejects.toMatchObject({
        message: expect.stringMatching(/beyond the room/),
        codes: ['INVALID_INPUT'],
      });
      await expect(refusal(EVENTS, roomCursor('event', roomId, 100_000))).rejects.toMatchObject({
        message: expect.stringMatching(/beyond the room/),
        codes: ['INVALID_INPUT'],
      });
      await expect(refusal(MESSAGES, otherCursor)).rejects.toMatchObject({
        message: expect.stringMatching(/another room/),
        codes: ['INVALID_INPUT'],
      });
      await expect(refusal(EVENTS, roomCursor('message', roomId, 1))).rejects.toMatchObject({
        message: expect.stringMatching(/an event cursor/),
        codes: ['INVALID_INPUT'],
      });
      await expect(refusal(MESSAGES, '17')).rejects.toMatchObject({
        message: expect.stringMatching(/a message cursor/),
        codes: ['INVALID_INPUT'],
      });
      await expect(refusal(MESSAGES, 'x'.repeat(10_000))).rejects.toMatchObject({
        message: expect.stringMatching(/a message cursor/),
        codes: ['INVALID_INPUT'],
      });
    } finally {
      await client.dispose();
    }
    await expect(gql(stack.queryUrl, HISTORY, { roomId, after: otherCursor }, token)).rejects.toMatchObject({
      codes: ['INVALID_INPUT'],
      message: expect.stringMatching(/another room/),
    });

    const before = await roomEvents();
    const MARK = `mutation($roomId: ID!, $upTo: String!) { markRead(roomId: $roomId, upTo: $upTo) { ... on CommandError { code message } } }`;
    expect((await gql(stack.commandUrl, MARK, { roomId, upTo: otherCursor }, token)).markRead).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/another room/),
    });
    expect(await roomEvents()).toBe(before);
  });

  it('masks an unexpected failure in a query and inside a live subscription, which carries on', async () => {
    const db = new pg.Client({ connectionString: stack.config.databaseUrl });
    await db.connect();
    const users = `${quoteIdent(stack.config.pgSchema)}.users`;
    const client = wsClient(stack.queryWsUrl, token);
    const results: { data?: any; errors?: { message: string }[] }[] = [];
    try {
      client.subscribe(
        { query: `subscription($roomId: ID!) { messageAdded(roomId: $roomId) { body sender { username } } }`, variables: { roomId } },
        { next: (result) => void results.push(result as any), error: () => undefined, complete: () => undefined },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The read model the sender comes from goes missing: Postgres answers with its own words.
      await db.query(`ALTER TABLE ${users} RENAME TO users_gone`);
      try {
        await gql(
          stack.commandUrl,
          `mutation { sendMessage(roomId: "${roomId}", body: "broken", clientMessageId: "mask-1") { __typename } }`,
          {},
          token,
        );
        await expect.poll(() => results.length, { timeout: 10_000 }).toBe(1);
        const query = await fetch(stack.queryUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: `{ me { id username } }` }),
        });
        const answer = await query.text();
        expect(JSON.parse(answer)).toMatchObject({ errors: [{ message: 'Unexpected error.' }] });
        expect(answer).not.toMatch(/relation|users_gone|does not exist/);
      } finally {
        await db.query(`ALTER TABLE ${quoteIdent(stack.config.pgSchema)}.users_gone RENAME TO users`);
      }
      await gql(
        stack.commandUrl,
        `mutation { sendMessage(roomId: "${roomId}", body: "mended", clientMessageId: "mask-2") { __typename } }`,
        {},
        token,
      );
      await expect.poll(() => results.length, { timeout: 10_000 }).toBe(2);
      expect(results[0]).toMatchObject({
        data: { messageAdded: { body: 'broken', sender: null } },
        errors: [{ message: 'Unexpected error.' }],
      });
      expect(JSON.stringify(results[0])).not.toMatch(/relation|users|does not exist|at /);
      expect(results[1]).toEqual({ data: { messageAdded: { body: 'mended', sender: { username: 'lima' } } } });
    } finally {
      await client.dispose();
      await db.end();
    }
  });

  it('serves neither introspection nor the playground when configured off', async () => {
    const closed = await stack.startExtra('query-service', { GRAPHQL_INTROSPECTION: 'off', GRAPHQL_PLAYGROUND: 'off' });
    const introspection = await post(closed.url, JSON.stringify({ query: '{ __schema { types { name } } }' }));
    expect(introspection.codes.length).toBeGreaterThan(0);
    expect((await post(closed.url, JSON.stringify({ query: '{ me { id } }' }))).codes).toEqual([]);
    const page = await fetch(closed.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
    const open = await fetch(stack.queryUrl, { headers: { accept: 'text/html' } });
    expect(await open.text()).toMatch(/graphiql/i);
  });

  it('limits commands per user, across instances, with RATE_LIMITED and when to retry, appending nothing over the limit', async () => {
    // An instance with a limit of 5 commands per 10 s; the count is each user's own, in Redis, shared by every instance.
    const strict = await stack.startExtra('command-service', { COMMAND_LIMIT_PER_USER: '5' });
    const SEND = `mutation($roomId: ID!, $key: ID!) { sendMessage(roomId: $roomId, body: "counted", clientMessageId: $key) {
      __typename ... on CommandError { code retryAfterSeconds } } }`;
    const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename ... on CommandError { code } } }`;
    // While partitions move to the new instance, commands answer UNAVAILABLE: retry those (through
    // the lenient instance, so the retries count against nobody's small limit).
    const settled = async (query: string, variables: Record<string, unknown>, as: string) => {
      for (const deadline = Date.now() + 30_000; ;) {
        const [answer] = Object.values(await gql(stack.commandUrl, query, variables, as)) as { __typename: string; code?: string }[];
        if (answer!.code !== 'UNAVAILABLE' || Date.now() > deadline) return answer!;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    };
    const [nina, olga] = [(await signUp(stack.commandUrl, 'nina')).accessToken, (await signUp(stack.commandUrl, 'olga')).accessToken];
    expect(await settled(JOIN, { roomId }, olga)).toMatchObject({ __typename: 'RoomAccepted' });
    expect(await settled(SEND, { roomId, key: 'olga-settles' }, olga)).toMatchObject({ __typename: 'MessageAccepted' });
    expect(await settled(JOIN, { roomId }, nina)).toMatchObject({ __typename: 'RoomAccepted' }); // one of nina's five

    const results = [];
    for (let i = 0; i < 4; i++) results.push((await gql(strict.url, SEND, { roomId, key: `limited-${i}` }, nina)).sendMessage);
    expect(results.map((r) => r.__typename)).toEqual(Array(4).fill('MessageAccepted'));
    const before = await roomEvents();
    const over = (await gql(strict.url, SEND, { roomId, key: 'limited-over' }, nina)).sendMessage;
    expect(over).toMatchObject({ __typename: 'CommandError', code: 'RATE_LIMITED' });
    expect(over.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(await roomEvents()).toBe(before);
    // Another user is not held back by it.
    expect((await gql(strict.url, SEND, { roomId, key: 'olga-1' }, olga)).sendMessage.__typename).toBe('MessageAccepted');
  });

  it('caps open subscriptions per socket, and per user across instances, freeing a slot when one completes', async () => {
    const caps = { SUBSCRIPTIONS_PER_SOCKET: '2', SUBSCRIPTIONS_PER_USER: '3' };
    const [one, other] = [await stack.startExtra('query-service', caps), await stack.startExtra('query-service', caps)];
    const LIVE = `subscription($roomId: ID!) { messageAdded(roomId: $roomId) { body } }`;
    const [first, second] = [wsClient(one.url.replace('http', 'ws'), token), wsClient(other.url.replace('http', 'ws'), token)];
    try {
      const open = [collect<any>(first, LIVE, { roomId }, 1), collect<any>(first, LIVE, { roomId }, 1)];
      await expect(collect<any>(first, LIVE, { roomId }, 1).done).rejects.toThrow(/on one connection/);
      open.push(collect<any>(second, LIVE, { roomId }, 1));
      await expect(collect<any>(second, LIVE, { roomId }, 1).done).rejects.toThrow(/per user/);
      open.shift()!.unsubscribe();
      await new Promise((resolve) => setTimeout(resolve, 200));
      open.push(collect<any>(second, LIVE, { roomId }, 1));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await gql(
        stack.commandUrl,
        `mutation { sendMessage(roomId: "${roomId}", body: "to all three", clientMessageId: "capped") { __typename } }`,
        {},
        token,
      );
      expect(await Promise.all(open.map((o) => o.done))).toEqual(Array(3).fill([{ messageAdded: { body: 'to all three' } }]));
    } finally {
      await Promise.all([first.dispose(), second.dispose()]);
      await Promise.all([one.stop(), other.stop()]);
    }
  });

  it('limits subscriptions started per user, across instances, with RATE_LIMITED and when to retry', async () => {
    const strict = { SUBSCRIBE_LIMIT_PER_USER: '3' };
    const [a, b] = [await stack.startExtra('query-service', strict), await stack.startExtra('query-service', strict)];
    const LIVE = `subscription($roomId: ID!) { messageAdded(roomId: $roomId) { body } }`;
    // Earlier tests moved partitions between command services: a command may meet UNAVAILABLE, and is retried with its key.
    const command = async (token: string, mutation: string): Promise<Record<string, unknown>> => {
      for (let attempt = 0; ; attempt++) {
        const answer = Object.values(await gql(stack.commandUrl, mutation, {}, token))[0] as Record<string, unknown>;
        if (answer.code !== 'UNAVAILABLE') return answer;
        if (attempt > 40) throw new Error('still UNAVAILABLE');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    const create = async (token: string) =>
      (
        await command(
          token,
          `mutation { createRoom(name: "subs", commandId: "subs") { ... on RoomAccepted { roomId } ... on CommandError { code } } }`,
        )
      ).roomId as string;
    const [user, bystander] = [
      (await signUp(stack.commandUrl, 'limsub')).accessToken,
      (await signUp(stack.commandUrl, 'limby')).accessToken,
    ];
    const [room, bystanders] = [await create(user), await create(bystander)];
    const [onA, onB, other] = [
      wsClient(a.url.replace('http', 'ws'), user),
      wsClient(b.url.replace('http', 'ws'), user),
      wsClient(b.url.replace('http', 'ws'), bystander),
    ];
    const say = (token: string, roomId: string, key: string) =>
      command(
        token,
        `mutation { sendMessage(roomId: "${roomId}", body: "still live", clientMessageId: "${key}") { __typename ... on CommandError { code } } }`,
      );
    try {
      const started = [
        collect<any>(onA, LIVE, { roomId: room }, 1),
        collect<any>(onA, LIVE, { roomId: room }, 1),
        collect<any>(onB, LIVE, { roomId: room }, 1),
      ];
      await new Promise((resolve) => setTimeout(resolve, 500)); // the three admitted first (the count is shared, so order matters)
      // The fourth start, on the other instance: the count is shared.
      await expect(collect<any>(onB, LIVE, { roomId: room }, 1).done).rejects.toThrow(/"code":"RATE_LIMITED","retryAfterSeconds":\d+/);
      // Someone else is not held up.
      const unaffected = collect<any>(other, LIVE, { roomId: bystanders }, 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await say(user, room, 'subs-message')).toMatchObject({ __typename: 'MessageAccepted' });
      expect(await say(bystander, bystanders, 'bystander-message')).toMatchObject({ __typename: 'MessageAccepted' });
      expect(await Promise.all(started.map((s) => s.done))).toEqual(Array(3).fill([{ messageAdded: { body: 'still live' } }]));
      expect(await unaffected.done).toEqual([{ messageAdded: { body: 'still live' } }]);
    } finally {
      await Promise.all([onA.dispose(), onB.dispose(), other.dispose()]);
    }
  });

  it('terminates a socket whose peer stopped answering pings, and keeps one that answers', async () => {
    const pinging = await stack.startExtra('query-service', { WS_KEEPALIVE_MS: '200' });
    const open = (autoPong: boolean) =>
      new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(pinging.url.replace('http', 'ws'), 'graphql-transport-ws', { autoPong });
        socket.once('open', () => {
          socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
          resolve(socket);
        });
        socket.once('error', reject);
      });
    const [silent, answering] = [await open(false), await open(true)];
    const closed = (socket: WebSocket) => new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const silentClosed = closed(silent);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await silentClosed).toBe(1006); // terminated: no closing handshake
    expect(answering.readyState).toBe(WebSocket.OPEN);
    answering.close();
  });

  it('refuses a message format other than PLAIN or MARKDOWN, appending nothing', async () => {
    const before = await roomEvents();
    const refused = await post(
      stack.commandUrl,
      JSON.stringify({
        query: `mutation($roomId: ID!, $format: MessageFormat) { sendMessage(roomId: $roomId, body: "<b>hi</b>", clientMessageId: "html", format: $format) { __typename } }`,
        variables: { roomId, format: 'HTML' },
      }),
    );
    expect(refused.codes.length).toBeGreaterThan(0);
    expect(await roomEvents()).toBe(before);
  });
});
