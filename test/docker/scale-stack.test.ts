import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '@chat/platform';
import { signUp, type TestUser } from '../src/accounts.ts';
import { composeStack, waitReady, type ComposeStack } from '../src/docker-stack.ts';
import { gql } from '../src/graphql.ts';

// docker-compose.scale.yml under fire: messages flow through the balancer at a fixed rate while
// one Kafka broker and one instance of each service are killed (SIGKILL, no goodbye). Senders
// behave as our clients do: a send that fails or answers UNAVAILABLE is sent again with the same
// clientMessageId. Every message accepted must then be in its room's history exactly once.

const SERVICES = [
  'kafka-1',
  'kafka-2',
  'kafka-3',
  'postgres',
  'redis',
  'registry',
  'objectstore',
  'init',
  'command-service-1',
  'command-service-2',
  'projector-1',
  'projector-2',
  'query-service-1',
  'query-service-2',
  'balancer',
  'prometheus',
];
const KILLED = ['kafka-2', 'command-service-1', 'projector-1', 'query-service-1'];
const SENDERS = 4;
const INTERVAL_MS = 250; // per sender: 16 messages/s offered in all
const FLOW_MS = 40_000;
const KILL_AT_MS = 12_000;

let stack: ComposeStack;
let endpoint: string;

beforeAll(async () => {
  stack = await composeStack('docker-compose.scale.yml', 'chat-scale-test', [
    'QUERY_HOST_PORT',
    'COMMAND_HOST_PORT',
    'PROMETHEUS_HOST_PORT',
    'S3_HOST_PORT',
  ]);
  try {
    await stack.up(SERVICES);
    // Round robin: asking each balanced port twice asks both instances behind it.
    const queries = `http://127.0.0.1:${stack.ports.QUERY_HOST_PORT}`;
    const commands = `http://127.0.0.1:${stack.ports.COMMAND_HOST_PORT}`;
    await waitReady([queries, queries, commands, commands]);
    endpoint = `${queries}/graphql`;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${stack.logs()}`, { cause: error });
  }
}, 900_000);

afterAll(() => stack?.down());

const SEND = `mutation($r: ID!, $b: String!, $k: ID!) {
  sendMessage(roomId: $r, body: $b, clientMessageId: $k) { __typename ... on CommandError { code } }
}`;

interface Attempted {
  body: string;
  accepted: boolean;
  tries: number;
}

/** Sends until accepted (as the web client's outbox does), for at most `forMs`. */
async function sendUntilAccepted(user: TestUser, roomId: string, body: string, forMs: number): Promise<Attempted> {
  const deadline = Date.now() + forMs;
  let tries = 0;
  while (Date.now() < deadline) {
    tries++;
    // A failed request (the connection died, the balancer had no instance, the instance timed out) is tried again.
    // So is one unanswered for long, as a client gives up on it: a request in flight to an instance
    // killed with SIGKILL gets no reset from the vanished container, and the balancer would wait
    // out its read timeout (an hour, for WebSockets) before answering.
    const answer = await gql(endpoint, SEND, { r: roomId, b: body, k: body }, user.accessToken, {}, AbortSignal.timeout(15_000)).then(
      (data) => data.sendMessage as { __typename: string; code?: string },
      () => undefined,
    );
    if (answer?.__typename === 'MessageAccepted') return { body, accepted: true, tries };
    if (answer && !['UNAVAILABLE', 'RATE_LIMITED'].includes(answer.code!)) throw new Error(`${body}: refused with ${answer.code}`);
    await sleep(500);
  }
  return { body, accepted: false, tries };
}

async function history(user: TestUser, roomId: string): Promise<string[]> {
  const { messages } = await gql(
    endpoint,
    `query($id: ID!) { messages(roomId: $id, last: 200) { edges { node { body } } } }`,
    { id: roomId },
    user.accessToken,
    {},
    AbortSignal.timeout(15_000),
  );
  return messages.edges.map((e: any) => e.node.body);
}

describe('the scale stack', () => {
  it('loses nothing accepted when a broker and one instance of each service are killed', { timeout: 600_000 }, async ({ onTestFailed }) => {
    // A timeout ends the test from outside, and the stack's logs go with it at teardown: print
    // where each sender stood and what the services said last, to tell a stack that stayed
    // unavailable apart from one that was only slow.
    let killed = false;
    /** Each sender's sends so far, in order. */
    const results: Attempted[][] = Array.from({ length: SENDERS }, () => []);
    onTestFailed(() => {
      const standing = results.map((done) => ({
        accepted: done.filter((a) => a.accepted).length,
        tries: done.reduce((n, a) => n + a.tries, 0),
      }));
      console.log(`scale stack at the failure: ${JSON.stringify({ killed, senders: standing })}\n${stack.logs(150)}`);
    });
    const senders: { user: TestUser; roomId: string }[] = [];
    for (let i = 0; i < SENDERS; i++) {
      const user = await signUp(endpoint, `sender${i}`);
      // Retried as a client would: just after start, partitions may still be moving between instances.
      const createRoom = await waitFor(`room ${i} created`, async () => {
        const answer = await gql(
          endpoint,
          `mutation($n: String!) { createRoom(name: $n) { __typename ... on RoomAccepted { roomId } ... on CommandError { code } } }`,
          { n: `scale ${i}` },
          user.accessToken,
        );
        if (answer.createRoom.__typename !== 'RoomAccepted' && answer.createRoom.code !== 'UNAVAILABLE')
          throw new Error(`createRoom: ${answer.createRoom.code}`);
        return answer.createRoom.roomId as string | undefined;
      });
      senders.push({ user, roomId: createRoom });
    }

    // Offered at a fixed rate, sent as the web client's outbox sends: in order, one at a time.
    const started = Date.now();
    const queues: string[][] = senders.map(() => []);
    let flowing = true;
    const outboxes = senders.map(async ({ user, roomId }, i) => {
      while (flowing || queues[i]!.length > 0) {
        const body = queues[i]!.shift();
        if (body === undefined) await sleep(20);
        else results[i]!.push(await sendUntilAccepted(user, roomId, body, 120_000));
      }
    });
    for (let tick = 0; Date.now() - started < FLOW_MS; tick++) {
      queues.forEach((queue, i) => queue.push(`s${i}-m${tick}`));
      if (!killed && Date.now() - started >= KILL_AT_MS) {
        killed = true;
        stack.kill(KILLED);
      }
      await sleep(Math.max(0, started + (tick + 1) * INTERVAL_MS - Date.now()));
    }
    flowing = false;
    await Promise.all(outboxes);

    const attempted = results.flat();
    const retried = attempted.filter((a) => a.tries > 1).length;
    console.log(
      `scale: ${attempted.length} messages offered, ${attempted.filter((a) => a.accepted).length} accepted, ${retried} needed a retry`,
    );
    expect(killed).toBe(true);
    for (const [i, { user, roomId }] of senders.entries()) {
      const accepted = results[i]!.filter((a) => a.accepted).map((a) => a.body);
      const seen = await waitFor(
        `room ${i}'s history to hold all ${accepted.length} accepted messages`,
        async () => {
          const bodies = await history(user, roomId);
          return accepted.every((body) => bodies.includes(body)) ? bodies : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      expect(seen.filter((body, at) => seen.indexOf(body) !== at)).toEqual([]);
      expect(seen.filter((body) => !body.startsWith(`s${i}-`))).toEqual([]);
    }
    // The stack stayed available: every message was accepted in the end.
    expect(attempted.filter((a) => !a.accepted)).toEqual([]);
  });
});
