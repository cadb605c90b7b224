import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, topicName } from '@chat/platform';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';
import { remakeTopic, topicSize } from '../src/kafka.ts';
import { readinessCheck } from '../src/readiness.ts';

// The room topic deleted and made again under running services, then filled by another writer
// past every offset the services had reached, before they next write or read. Offsets alone
// cannot tell that log from the old one: the write side's check (records placed below what
// its state reaches) and the projector's (a log end below its checkpoint) both pass, so the
// command service would decide on state folded from the old log and append to the new one,
// and the projector would take the new records as the old log's continuation. The topic's id
// (Kafka gives each topic one when it is made) tells them apart: both services stop within
// CLUSTER_CHECK_INTERVAL_MS, say event-log down, and accept nothing into the new topic.

const CREATE_ROOM = `mutation { createRoom(name: "remade") { ... on RoomAccepted { roomId } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on CommandError { code } } }`;
const FILLER_PER_PARTITION = 50;

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack('topic-remade', { CLUSTER_CHECK_INTERVAL_MS: '1000', APPEND_TIMEOUT_MS: '3000' });
  token = (await signUp(stack.commandUrl, 'remaker')).accessToken;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('an event topic made again and filled past the old offsets', () => {
  it('is told apart by its topic id: both services stop and nothing is accepted into it', async () => {
    const roomId = (await gql(stack.commandUrl, CREATE_ROOM, {}, token)).createRoom.roomId as string;
    for (let i = 0; i < 3; i++) {
      const sent = (await gql(stack.commandUrl, SEND, { roomId, body: `before ${i}`, id: `before-${i}` }, token)).sendMessage;
      expect(sent.__typename).toBe('MessageAccepted');
    }

    const kafka = createKafka(stack.config, 'topic-remade-test');
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    const topic = topicName(stack.config.topicPrefix, 'roomEvents');
    const partitions = await (async () => {
      try {
        const made = await remakeTopic(admin, topic);
        // Another writer fills every partition past what the old log held (a few records each).
        for (let partition = 0; partition < made; partition++) {
          await producer.send({
            topic,
            messages: Array.from({ length: FILLER_PER_PARTITION }, (_, i) => ({ partition, value: `filler ${i}` })),
          });
        }
        return made;
      } finally {
        await Promise.all([admin.disconnect(), producer.disconnect()]);
      }
    })();

    for (const service of ['command-service', 'projector'] as const) {
      await expect.poll(() => readinessCheck(stack.instance(service), 'event-log'), { timeout: 30_000 }).toBe('down');
    }
    const after = (await gql(stack.commandUrl, SEND, { roomId, body: 'after', id: 'after-0' }, token)).sendMessage;
    expect(after.code ?? after.__typename).toBe('UNAVAILABLE');
    const retried = (await gql(stack.commandUrl, SEND, { roomId, body: 'before 0', id: 'before-0' }, token)).sendMessage;
    expect(retried.code ?? retried.__typename).toBe('UNAVAILABLE');
    // The new topic holds the other writer's records and nothing of ours.
    expect(await topicSize(kafka, topic)).toBe(BigInt(partitions * FILLER_PER_PARTITION));
  }, 120_000);
});
