import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, InstanceAuth, signedFetch, topicName } from '@chat/platform';
import { startStack, type Instance, type Stack } from '@chat/infra';
import { TestUsers } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';
import { topicSize } from '../src/kafka.ts';
import { rawGet } from '../src/raw-http.ts';

// The command service answers instances only. An outside attacker with a valid user token (and
// nothing else) once posted commands straight to its forwarding route, past every check of the
// one endpoint: a direct room taken over, a message edited in another room. Now every route of
// the command service, forwarding included, needs a request signed with the instances' shared
// secret; the forwarding route lives on an internal listener the one endpoint never proxies
// to, and the one endpoint's sign-on pass-through reaches nothing but its three routes.

let stack: Stack;
let second: Instance;
let users: TestUsers;
let roomId: string;

const CREATE = `mutation { createRoom(name: "lobby") { ... on RoomAccepted { roomId } ... on CommandError { code } } }`;
const OPEN_DIRECT = `mutation($userId: ID!) { openDirect(userId: $userId) { __typename ... on RoomAccepted { roomId } ... on CommandError { code } } }`;
const MEMBERS = `query($roomId: ID!) { room(id: $roomId) { members(first: 10) { edges { node { user { username } } } } } }`;

beforeAll(async () => {
  stack = await startStack('internal-calls');
  // A second instance: the partitions are split between the two, so forwarding is live.
  second = await stack.startExtra('command-service');
  users = new TestUsers(stack.queryUrl);
  roomId = (await command(CREATE, {}, await users.token('mallory'))).createRoom.roomId as string;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

/**
 * A mutation through the one endpoint, tried again while it answers UNAVAILABLE (as clients
 * do): the partitions may still be moving to the second instance when a test starts.
 */
async function command(query: string, variables: Record<string, unknown>, token: string): Promise<Record<string, any>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const data = await gql(stack.queryUrl, query, variables, token);
    const answer = Object.values(data)[0] as { code?: string };
    if (answer?.code !== 'UNAVAILABLE' || Date.now() > deadline) return data;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const commandInstances = () => [stack.instance('command-service'), second];
const roomEvents = async () => topicSize(createKafka(stack.config, 'test'), topicName(stack.config.topicPrefix, 'roomEvents'));

/** A forwarded command as a peer would send it, with Mallory's valid token. */
async function forwardInit(command: Record<string, unknown>): Promise<RequestInit> {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await users.token('mallory')}` },
    body: JSON.stringify({ commandId: null, ...command }),
  };
}

describe('calls between instances', () => {
  it('refuse a forwarded command carrying only a user token, on every instance, and append nothing', async () => {
    const before = await roomEvents();
    const hijack = await forwardInit({ type: 'OpenDirect', roomId: randomUUID(), peerId: (await users.get('bob')).userId });
    for (const instance of commandInstances()) {
      const response = await fetch(`${instance.internalUrl}/internal/commands`, hijack);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'UNAUTHENTICATED_INSTANCE' });
      // Nor is the forwarding route served on the command service's other port.
      expect((await fetch(`${instance.baseUrl}/internal/commands`, hijack)).status).toBe(401);
    }
    expect(await roomEvents()).toBe(before);

    // The direct room of Alice and Bob is theirs: opened by either, it holds the two of them.
    const alice = await users.get('alice');
    const bob = await users.get('bob');
    const opened = (await command(OPEN_DIRECT, { userId: bob.userId }, alice.accessToken)).openDirect;
    expect(opened.__typename).toBe('RoomAccepted');
    const again = (await command(OPEN_DIRECT, { userId: alice.userId }, bob.accessToken)).openDirect;
    expect(again.roomId).toBe(opened.roomId);
    const { room } = await gql(stack.queryUrl, MEMBERS, { roomId: opened.roomId }, bob.accessToken);
    expect(room.members.edges.map((e: { node: { user: { username: string } } }) => e.node.user.username).sort()).toEqual([
      alice.username,
      bob.username,
    ]);
  });

  it('refuse a command signed with another secret, and a signed one played a second time', async () => {
    const before = await roomEvents();
    const impostor = new InstanceAuth('not-the-deployment-secret-0123456789', 'impostor');
    for (const instance of commandInstances()) {
      const forged = await signedFetch(
        impostor,
        `${instance.internalUrl}/internal/commands`,
        await forwardInit({ type: 'LeaveRoom', roomId }),
      );
      expect(forged.status).toBe(401);
    }
    expect(await roomEvents()).toBe(before);

    // A real instance's request, captured and sent again: the first is served, the copy refused.
    const peer = new InstanceAuth(process.env.INTERNAL_SECRET!, 'peer');
    const init = await forwardInit({ type: 'MarkRead', roomId, upTo: 0 });
    const headers = {
      ...(init.headers as Record<string, string>),
      ...peer.sign({ method: 'POST', path: '/internal/commands', body: init.body as string }),
    };
    const outcomes = [];
    for (const instance of commandInstances()) {
      const response = await fetch(`${instance.internalUrl}/internal/commands`, { ...init, headers });
      outcomes.push(response.status === 200 ? ((await response.json()) as { ok?: boolean; error?: { code: string } }) : response.status);
    }
    // Each instance spends the nonce itself: the owner runs it (or a non-owner says so); the replay is refused.
    const replay = await fetch(`${commandInstances()[0]!.internalUrl}/internal/commands`, { ...init, headers });
    expect(replay.status).toBe(401);
    expect(outcomes.every((outcome) => typeof outcome === 'object')).toBe(true);
  });

  it("refuse a user's own mutation sent straight to the command service's GraphQL, unsigned", async () => {
    const before = await roomEvents();
    for (const instance of commandInstances()) {
      const response = await fetch(instance.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await users.token('mallory')}` },
        body: JSON.stringify({
          query: `mutation { sendMessage(roomId: "${roomId}", body: "past the door", clientMessageId: "x") { __typename } }`,
        }),
      });
      expect(response.status).toBe(401);
    }
    expect(await roomEvents()).toBe(before);
    // Partition status is internal too.
    for (const instance of commandInstances()) expect((await fetch(`${instance.internalUrl}/partitions`)).status).toBe(401);
  });

  it("reach none of the command service's routes through the one endpoint's sign-on pass-through", async () => {
    const endpoint = stack.instance('query-service').baseUrl;
    const spellings = [
      '/auth/oidc/../../partitions',
      '/auth/oidc/%2e%2e/%2e%2e/partitions',
      '/auth/oidc/%2E%2E/%2E%2E/graphql',
      '/auth/oidc/..%2f..%2fmetrics',
      '/auth/oidc/../../.well-known/jwks.json',
      '/auth/oidc/config/../../../internal/commands',
      '/auth/oidc/start/..\\..\\partitions',
      '/auth/oidc/',
      '/auth/other',
    ];
    for (const path of spellings) {
      const answer = await rawGet(endpoint, path);
      expect({ path, status: answer.status }).toEqual({ path, status: 404 });
      expect(answer.body).toContain('NOT_FOUND');
    }
    // The real route still passes.
    expect(await (await fetch(`${endpoint}/auth/oidc/config`)).json()).toEqual({ enabled: false });
  });

  it('serve metrics on the internal listeners only', async () => {
    for (const name of ['query-service', 'command-service', 'projector'] as const) {
      const instance = stack.instance(name);
      expect(await (await fetch(`${instance.internalUrl}/metrics`)).text()).toContain('# HELP');
      const publicAnswer = await fetch(`${instance.baseUrl}/metrics`);
      expect(await publicAnswer.text()).not.toContain('# HELP');
    }
  });
});
