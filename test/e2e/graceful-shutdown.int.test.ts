import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Instance, type Stack } from '@chat/infra';
import { signUp, type TestUser } from '../src/accounts.ts';
import { gql, instanceFetch, wsClient } from '../src/graphql.ts';

// SIGTERM, as an orchestrator sends it: each service stops accepting, finishes what it has in
// hand, hands its partitions over and exits 0. A second instance of each service is stopped so
// while messages flow through the first; every message the sender was told was accepted (or
// sent again with its key until it was) is in history once, and live sockets are closed with
// 1001 (going away), which graphql-ws clients take as "reconnect, elsewhere".

let stack: Stack;
let alice: TestUser;

beforeAll(async () => {
  stack = await startStack('shutdown');
  alice = await signUp(stack.queryUrl, 'alice');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) {
  sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) { __typename ... on CommandError { code } } }`;

/** SIGTERM, then the exit code (null if the signal had to be followed by SIGKILL). */
async function terminate(instance: Instance): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => instance.child.once('exit', (code) => resolve(code)));
  await instance.stop('SIGTERM');
  return exited;
}

/** Sends one message until it is accepted: a retry carries the same key, so it lands once. */
async function sendUntilAccepted(roomId: string, body: string): Promise<void> {
  const key = randomUUID();
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const result = await gql(stack.queryUrl, SEND, { roomId, body, key }, alice.accessToken).catch(() => null);
    if (result?.sendMessage.__typename === 'MessageAccepted') return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${body} was never accepted`);
}

describe('SIGTERM', () => {
  it('stops a second instance of each service under load with exit 0, and loses nothing', async () => {
    const rooms: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const { createRoom } = await gql(
        stack.queryUrl,
        `mutation($n: String!) { createRoom(name: $n) { ... on RoomAccepted { roomId } } }`,
        { n: `room ${i}` },
        alice.accessToken,
      );
      rooms.push(createRoom.roomId);
    }
    const extras = { command: await stack.startExtra('command-service'), projector: await stack.startExtra('projector') };
    const sent: Record<string, string[]> = Object.fromEntries(rooms.map((room) => [room, []]));
    let flowing = true;
    const load = (async () => {
      for (let n = 1; flowing || n <= 20; n += 1) {
        const room = rooms[n % rooms.length]!;
        const body = `message ${n}`;
        await sendUntilAccepted(room, body);
        sent[room]!.push(body);
      }
    })();
    // The second command service owns some rooms' partitions (after the rebalance) when it is stopped.
    const owned = async () =>
      ((await (await instanceFetch(`${extras.command.internalUrl}/partitions`)).json()) as { owned: number[] }).owned.length;
    await expect.poll(owned, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await terminate(extras.command)).toBe(0);
    expect(await terminate(extras.projector)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    flowing = false;
    await load;
    for (const room of rooms) {
      await expect
        .poll(
          async () => {
            const { messages } = await gql(
              stack.queryUrl,
              `query($r: ID!) { messages(roomId: $r, first: 200) { edges { node { body } } } }`,
              { r: room },
              alice.accessToken,
            );
            return messages.edges.map((e: any) => e.node.body);
          },
          { timeout: 15_000 },
        )
        .toEqual(sent[room]);
    }
  }, 90_000);

  it('closes a query service’s sockets with 1001 (going away) and exits 0', async () => {
    const extra = await stack.startExtra('query-service');
    const client = wsClient(`${extra.url.replace('http', 'ws')}`, alice.accessToken);
    const closed = new Promise<number>((resolve) => client.on('closed', (event) => resolve((event as { code: number }).code)));
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));
    expect(await terminate(extra)).toBe(0);
    expect(await closed).toBe(1001);
    await client.dispose();
  });
});
