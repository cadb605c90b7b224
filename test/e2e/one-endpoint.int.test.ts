import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, topicName } from '@chat/platform';
import { startStack, type Stack } from '@chat/infra';
import { SIGN_UP, TEST_PASSWORD, signUp } from '../src/accounts.ts';
import { collect, gql, instanceFetch, wsClient } from '../src/graphql.ts';
import { topicSize } from '../src/kafka.ts';

// The query service's URL is the only one a client needs: queries and subscriptions run there,
// mutations are passed on to the command service, unexecuted, with the caller's token and address.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('one-endpoint');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const CREATE_ROOM = `mutation($name: String!) { createRoom(name: $name) { __typename ... on RoomAccepted { roomId } ... on CommandError { code } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) {
  sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) { __typename ... on MessageAccepted { receipt { projected } } ... on CommandError { code } } }`;

/** A POST from a chosen loopback address (Linux answers on all of 127/8), as a distinct client would send it. */
function postFrom(localAddress: string, url: string, body: unknown, headers: Record<string, string> = {}): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('one endpoint', () => {
  it('serves sign-up, commands, history and live messages at the one URL, over HTTP and graphql-ws', async () => {
    const ivy = await signUp(stack.queryUrl, 'ivy');
    const { createRoom } = await gql(stack.queryUrl, CREATE_ROOM, { name: 'one door' }, ivy.accessToken);
    expect(createRoom.__typename).toBe('RoomAccepted');
    const roomId = createRoom.roomId as string;

    const client = wsClient(stack.queryWsUrl, ivy.accessToken);
    try {
      const live = collect<any>(client, `subscription($roomId: ID!) { messageAdded(roomId: $roomId) { body senderId } }`, { roomId }, 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const overHttp = await gql(stack.queryUrl, SEND, { roomId, body: 'over http', key: 'h1' }, ivy.accessToken);
      expect(overHttp.sendMessage).toEqual({ __typename: 'MessageAccepted', receipt: { projected: true } });
      // A mutation over the socket travels the same way, with the socket's token.
      const overSocket = collect<any>(client, SEND, { roomId, body: 'over the socket', key: 's1' }, 1);
      expect((await overSocket.done)[0].sendMessage.__typename).toBe('MessageAccepted');
      expect(await live.done).toEqual([
        { messageAdded: { body: 'over http', senderId: ivy.userId } },
        { messageAdded: { body: 'over the socket', senderId: ivy.userId } },
      ]);
    } finally {
      await client.dispose();
    }
    const history = await gql(
      stack.queryUrl,
      `query($roomId: ID!) { messages(roomId: $roomId, last: 10) { edges { node { body } } } }`,
      { roomId },
      ivy.accessToken,
    );
    expect(history.messages.edges.map((e: any) => e.node.body)).toEqual(['over http', 'over the socket']);
  });

  it('runs the mutation a document names beside its other operations, with the fragments it uses, and the query it names', async () => {
    const kay = await signUp(stack.queryUrl, 'kay');
    // One document, as some clients keep every operation of a screen: a query of this service's
    // own fields, a mutation with a fragment, and a fragment only the query uses.
    const document = `query Rooms { myRooms(first: 5) { edges { node { ...Named } } } }
      mutation Create($name: String!) { createRoom(name: $name) { __typename ...Accepted } }
      fragment Accepted on RoomAccepted { roomId }
      fragment Named on Room { id name }`;
    const post = async (operationName: string, variables: Record<string, unknown> = {}) => {
      const response = await fetch(stack.queryUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${kay.accessToken}` },
        body: JSON.stringify({ query: document, operationName, variables }),
      });
      return (await response.json()) as { data?: any; errors?: unknown[] };
    };
    const created = await post('Create', { name: 'named' });
    expect(created.errors).toBeUndefined();
    expect(created.data.createRoom).toMatchObject({ __typename: 'RoomAccepted', roomId: expect.any(String) });
    const rooms = await post('Rooms');
    expect(rooms.data.myRooms.edges.map((e: any) => e.node)).toEqual([{ id: created.data.createRoom.roomId, name: 'named' }]);
    // A mutation over GET is refused, not routed.
    const overGet = await fetch(`${stack.queryUrl}?query=${encodeURIComponent(document)}&operationName=Create&variables={"name":"x"}`, {
      headers: { authorization: `Bearer ${kay.accessToken}` },
    });
    expect(overGet.status).toBe(405);
  });

  it('runs its own mutations (typing, presence) itself, and refuses a request that mixes them with commands', async () => {
    const rae = await signUp(stack.queryUrl, 'raeown');
    const { roomId } = (await gql(stack.queryUrl, CREATE_ROOM, { name: 'own mutations' }, rae.accessToken)).createRoom;
    const typing = await gql(stack.queryUrl, `mutation($r: ID!) { setTyping(roomId: $r, typing: true) }`, { r: roomId }, rae.accessToken);
    expect(typing).toEqual({ setTyping: true });
    const mixed = `mutation($r: ID!) { setTyping(roomId: $r, typing: false) sendMessage(roomId: $r, body: "x", clientMessageId: "m1") { __typename } }`;
    await expect(gql(stack.queryUrl, mixed, { r: roomId }, rae.accessToken)).rejects.toMatchObject({ codes: ['BAD_REQUEST'] });
  });

  it('answers mutations sent at once by many callers each as its own caller', async () => {
    const users = await Promise.all(
      ['ana', 'bo', 'cy', 'di', 'ed', 'fe', 'gus', 'hal'].map((name) => signUp(stack.queryUrl, `many${name}`)),
    );
    // Sent together, so that the endpoint passes several on in one request to the command service.
    const created = await Promise.all(users.map((user, i) => gql(stack.queryUrl, CREATE_ROOM, { name: `own ${i}` }, user.accessToken)));
    const anonymous = gql(stack.queryUrl, CREATE_ROOM, { name: 'nobody' });
    await Promise.all(
      users.map(async (user, i) => {
        const mine = await gql(stack.queryUrl, `{ myRooms(first: 10) { edges { node { id name } } } }`, {}, user.accessToken);
        expect(mine.myRooms.edges.map((e: any) => e.node)).toEqual([{ id: created[i]!.createRoom.roomId, name: `own ${i}` }]);
      }),
    );
    expect((await anonymous).createRoom).toEqual({ __typename: 'CommandError', code: 'UNAUTHENTICATED' });
  });

  it('runs each operation of a signed batch to the command service as the caller it names, and answers in order', async () => {
    const [lu, mo] = [await signUp(stack.queryUrl, 'batchlu'), await signUp(stack.queryUrl, 'batchmo')];
    const operation = (name: string, authorization?: string) => ({
      query: CREATE_ROOM,
      variables: { name },
      extensions: { chatCaller: { clientAddress: '127.0.0.1', ...(authorization ? { authorization } : {}) } },
    });
    const response = await instanceFetch(stack.commandUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        operation('of lu', `Bearer ${lu.accessToken}`),
        operation('of nobody'),
        operation('of mo', `Bearer ${mo.accessToken}`),
      ]),
    });
    const results = (await response.json()) as { data: { createRoom: { __typename: string; roomId?: string; code?: string } } }[];
    expect(results.map((r) => r.data.createRoom.__typename)).toEqual(['RoomAccepted', 'CommandError', 'RoomAccepted']);
    expect(results[1]!.data.createRoom.code).toBe('UNAUTHENTICATED');
    const roomsOf = async (token: string) =>
      (await gql(stack.queryUrl, `{ myRooms(first: 10) { edges { node { name } } } }`, {}, token)).myRooms.edges.map(
        (e: any) => e.node.name,
      );
    expect(await roomsOf(lu.accessToken)).toEqual(['of lu']);
    expect(await roomsOf(mo.accessToken)).toEqual(['of mo']);
  });

  it('answers a command without a token as the command service does, and limits mutations per request, appending nothing', async () => {
    const { createRoom } = await gql(stack.queryUrl, CREATE_ROOM, { name: 'anonymous' });
    expect(createRoom).toEqual({ __typename: 'CommandError', code: 'UNAUTHENTICATED' });
    const jay = await signUp(stack.queryUrl, 'jay');
    const { roomId } = (await gql(stack.queryUrl, CREATE_ROOM, { name: 'bounded' }, jay.accessToken)).createRoom;
    const roomEvents = () => topicSize(createKafka(stack.config, 'test-one-endpoint'), topicName(stack.config.topicPrefix, 'roomEvents'));
    const before = await roomEvents();
    const six = Array.from(
      { length: 6 },
      (_, i) => `m${i}: sendMessage(roomId: "${roomId}", body: "x", clientMessageId: "k${i}") { __typename }`,
    );
    await expect(gql(stack.queryUrl, `mutation { ${six.join(' ')} }`, {}, jay.accessToken)).rejects.toMatchObject({
      codes: ['TOO_MANY_MUTATIONS'],
    });
    expect(await roomEvents()).toBe(before);
  });

  it('counts sign-ups per client address behind the endpoint, ignoring a client’s own X-Forwarded-For', async () => {
    const strict = await stack.startExtra('command-service', { SIGN_UP_LIMIT_PER_ADDRESS: '2' });
    const endpoint = await stack.startExtra('query-service', { COMMAND_SERVICE_URL: strict.baseUrl });
    try {
      const signUpFrom = async (address: string, username: string, headers?: Record<string, string>) =>
        (await postFrom(address, endpoint.url, { query: SIGN_UP, variables: { username, password: TEST_PASSWORD } }, headers)).data.signUp;
      expect((await signUpFrom('127.0.0.2', 'kim')).__typename).toBe('Session');
      expect((await signUpFrom('127.0.0.2', 'lee')).__typename).toBe('Session');
      expect(await signUpFrom('127.0.0.2', 'max')).toMatchObject({ __typename: 'CommandError', code: 'RATE_LIMITED' });
      // Another client has its own count, and cannot pass itself off as one.
      expect((await signUpFrom('127.0.0.3', 'ned', { 'x-forwarded-for': '127.0.0.9' })).__typename).toBe('Session');
      expect((await signUpFrom('127.0.0.3', 'ola', { 'x-forwarded-for': '127.0.0.9' })).__typename).toBe('Session');
      expect(await signUpFrom('127.0.0.3', 'pam', { 'x-forwarded-for': '127.0.0.9' })).toMatchObject({ code: 'RATE_LIMITED' });
    } finally {
      await endpoint.stop();
      await strict.stop();
    }
  });

  it('answers UNAVAILABLE, in its own words, when the command service cannot be reached', async () => {
    const endpoint = await stack.startExtra('query-service', { COMMAND_SERVICE_URL: 'http://127.0.0.1:9' });
    try {
      const response = await fetch(endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: SIGN_UP, variables: { username: 'quinn', password: TEST_PASSWORD } }),
      });
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors.map((e) => e.extensions.code)).toEqual(['UNAVAILABLE']);
      expect(JSON.stringify(body)).not.toMatch(/fetch|ECONNREFUSED|127\.0\.0\.1:9/);
    } finally {
      await endpoint.stop();
    }
  });
});
