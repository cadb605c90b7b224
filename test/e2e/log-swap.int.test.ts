import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, sleep, topicName } from '@chat/platform';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';
import { readinessCheck } from '../src/readiness.ts';
import { readRoomLog } from '../src/room-log.ts';
import { remakeTopic } from '../src/kafka.ts';

// The event log swapped under a running command service: the room topic deleted and made again
// (as a broker that came back with empty storage on the same address looks, or a fail-over to
// another cluster). Offsets then name other records. The command service must notice, stop
// deciding (a command is answered UNAVAILABLE, never accepted into the new log as if nothing
// happened), the projector must stop projecting (never skip or mix in the new log's records),
// and both must say so in their readiness, until an operator acts.

const CREATE_ROOM = `mutation { createRoom(name: "swap") { ... on RoomAccepted { roomId } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on CommandError { code } } }`;

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack('log-swap', { APPEND_TIMEOUT_MS: '3000' });
  token = (await signUp(stack.commandUrl, 'swapper')).accessToken;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('a swapped event log', () => {
  it('stops the command service from deciding and the projector from projecting, and their readiness says event-log down', async () => {
    const roomId = (await gql(stack.commandUrl, CREATE_ROOM, {}, token)).createRoom.roomId as string;
    for (let i = 0; i < 5; i++) {
      expect((await gql(stack.commandUrl, SEND, { roomId, body: `before ${i}`, id: `before-${i}` }, token)).sendMessage.__typename).toBe(
        'MessageAccepted',
      );
    }

    const kafka = createKafka(stack.config, 'log-swap-test');
    const admin = kafka.admin();
    await admin.connect();
    const topic = topicName(stack.config.topicPrefix, 'roomEvents');
    try {
      // Made again at once, as a broker with empty storage would auto-create or an operator would.
      await remakeTopic(admin, topic);
    } finally {
      await admin.disconnect();
    }

    // Nothing after the swap is accepted: every answer is UNAVAILABLE until an operator acts.
    const after: string[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = (await gql(stack.commandUrl, SEND, { roomId, body: `after ${i}`, id: `after-${i}` }, token)).sendMessage;
      after.push(answer.code ?? answer.__typename);
      await sleep(1000);
    }
    expect(after.every((outcome) => outcome === 'UNAVAILABLE')).toBe(true);
    // Checked before each commit: nothing of theirs was committed to the new log either.
    expect((await readRoomLog(stack.config)).map((e) => e.event.type)).toEqual([]);
    // Both the command service and the projector (which read the new log's records) say why.
    for (const service of ['command-service', 'projector'] as const) {
      await expect.poll(() => readinessCheck(stack.instance(service), 'event-log'), { timeout: 30_000 }).toBe('down');
    }
    // And a retry of a key accepted before the swap is not appended again as new.
    const retried = (await gql(stack.commandUrl, SEND, { roomId, body: 'before 0', id: 'before-0' }, token)).sendMessage;
    expect(retried.code ?? retried.__typename).toBe('UNAVAILABLE');
  }, 120_000);
});
