import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createKafka, quoteIdent, sleep, topicName } from '@chat/platform';
import { EventCodec } from '@chat/schemas';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';
import { readRoomLog } from '../src/room-log.ts';
import { readinessCheck } from '../src/readiness.ts';

// Two events at one room revision: what a second writer that was never fenced would leave in
// the log. The projector must not take the second for a replay and skip it (the client was told
// its message was accepted): it stops that partition before it, records why, and its readiness
// says event-log down, until an operator acts.

const CREATE_ROOM = `mutation { createRoom(name: "conflict") { ... on RoomAccepted { roomId } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on MessageAccepted { receipt { projected } } } }`;
const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, first: 50) { edges { node { body } } } }`;

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack('revision-conflict', { VISIBILITY_TIMEOUT_MS: '1000' });
  token = (await signUp(stack.commandUrl, 'rival')).accessToken;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('a revision written twice', () => {
  it('stops the projector at the second event, with a fault row and event-log down in its readiness', async () => {
    const roomId = (await gql(stack.commandUrl, CREATE_ROOM, {}, token)).createRoom.roomId as string;
    for (const body of ['one', 'two']) await gql(stack.commandUrl, SEND, { roomId, body, id: body }, token);
    const two = (await readRoomLog(stack.config)).filter((e) => e.event.roomId === roomId).at(-1)!;
    expect(two.event).toMatchObject({ type: 'MessageSent', body: 'two' });

    // A rival event at the same revision, in the same partition, as an unfenced old owner would append it.
    const codec = new EventCodec(stack.config.schemaRegistryUrl, stack.config.topicPrefix);
    await codec.registerAll();
    const rival = {
      ...two.event,
      eventId: crypto.randomUUID(),
      messageId: crypto.randomUUID(),
      commandId: 'rival',
      body: 'rival',
      sealed: null,
    };
    const producer = createKafka(stack.config, 'revision-conflict-test').producer();
    await producer.connect();
    await producer.send({
      topic: topicName(stack.config.topicPrefix, 'roomEvents'),
      messages: [{ key: roomId, partition: two.partition, value: await codec.encode(rival) }],
    });
    await producer.disconnect();

    // Accepted by the command side (it owns the room and knows nothing of the rival), never projected past it.
    const after = (await gql(stack.commandUrl, SEND, { roomId, body: 'three', id: 'three' }, token)).sendMessage;
    expect(after).toMatchObject({ __typename: 'MessageAccepted', receipt: { projected: false } });
    await expect.poll(() => readinessCheck(stack.instance('projector'), 'event-log'), { timeout: 30_000 }).toBe('down');
    await sleep(1000);
    const history = await gql(stack.queryUrl, HISTORY, { roomId }, token);
    expect((history.messages.edges as { node: { body: string } }[]).map((e) => e.node.body)).toEqual(['one', 'two']);

    const client = new pg.Client({ connectionString: stack.config.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT kind, detail FROM ${quoteIdent(stack.config.pgSchema)}.projection_faults WHERE room_id = $1`,
        [roomId],
      );
      expect(rows).toEqual([{ kind: 'revision-conflict', detail: expect.stringContaining(`event ${rival.eventId} claims it too`) }]);
    } finally {
      await client.end();
    }
  }, 120_000);
});
