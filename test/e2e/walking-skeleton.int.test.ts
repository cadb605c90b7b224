import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, topicName } from '@chat/platform';
import { TestUsers } from '../src/accounts.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';
import { readRecord, topicSize } from '../src/kafka.ts';
import { readRoomLog } from '../src/room-log.ts';
import { startStack, type Stack } from '@chat/infra';

// One message through the real Kafka, registry, Postgres and Redis, end to end, with the
// three services running as separate processes.

const CREATE_ROOM = `mutation($name: String!) { createRoom(name: $name) {
  __typename ... on RoomAccepted { roomId } ... on CommandError { code message } } }`;
const JOIN_ROOM = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) {
  __typename ... on RoomAccepted { roomId receipt { projected } } ... on CommandError { code message } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename
  ... on MessageAccepted { messageId receipt { eventId duplicate projected position { partition offset } } }
  ... on CommandError { code message } } }`;
const HISTORY = `query($roomId: ID!, $after: String) { messages(roomId: $roomId, after: $after) {
  edges { cursor node { id sequence body senderId clientMessageId } } pageInfo { endCursor hasNextPage } } }`;
const PAGE_BACK = `query($roomId: ID!, $last: Int, $before: String) { messages(roomId: $roomId, last: $last, before: $before) {
  edges { node { sequence } } pageInfo { startCursor endCursor hasPreviousPage hasNextPage } } }`;
const LIVE = `subscription($roomId: ID!, $after: String) { messageAdded(roomId: $roomId, after: $after) { id sequence body senderId } }`;

interface Sent {
  sendMessage: {
    __typename: string;
    messageId?: string;
    code?: string;
    receipt?: { eventId: string; duplicate: boolean; projected: boolean; position: { partition: number; offset: string } };
  };
}
interface History {
  messages: {
    edges: { cursor: string; node: { id: string; sequence: number; body: string; senderId: string; clientMessageId: string } }[];
  };
}

let stack: Stack;
let users: TestUsers;
const token = (name: string) => users.token(name);
const id = (name: string) => users.id(name);

beforeAll(async () => {
  stack = await startStack('skeleton');
  users = new TestUsers(stack.commandUrl);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

async function newRoom(owner: string, ...members: string[]): Promise<string> {
  const created = await gql(stack.commandUrl, CREATE_ROOM, { name: 'general' }, await token(owner));
  expect(created.createRoom.__typename).toBe('RoomAccepted');
  const roomId = created.createRoom.roomId as string;
  for (const member of members) {
    const joined = await gql(stack.commandUrl, JOIN_ROOM, { roomId }, await token(member));
    expect(joined.joinRoom).toMatchObject({ __typename: 'RoomAccepted', receipt: { projected: true } });
  }
  return roomId;
}

/** The room-events topic's end offsets, summed (transaction markers included): proves nothing was appended. */
const roomEventCount = () => topicSize(createKafka(stack.config, 'test-sizes'), topicName(stack.config.topicPrefix, 'roomEvents'));

const send = async (roomId: string, body: string, id: string, user = 'alice') =>
  gql<Sent>(stack.commandUrl, SEND, { roomId, body, id }, await token(user));

describe('walking skeleton', () => {
  it('delivers a message live over graphql-ws, then serves it from history', async () => {
    const roomId = await newRoom('alice', 'bob');
    const client = wsClient(stack.queryWsUrl, await token('bob'));
    try {
      const live = collect<{ messageAdded: { id: string; sequence: number; body: string; senderId: string } }>(
        client,
        LIVE,
        { roomId, after: '0' },
        2,
      );
      const first = await send(roomId, 'hello bob', 'm-1');
      expect(first.sendMessage.__typename).toBe('MessageAccepted');
      // Wait for the first one so the second is sent while the subscription is live.
      await expect.poll(() => live.items.length, { timeout: 10_000 }).toBe(1);
      const second = await send(roomId, 'are you there?', 'm-2');
      const received = await live.done;
      expect(received.map((r) => r.messageAdded)).toEqual([
        { id: first.sendMessage.messageId, sequence: 1, body: 'hello bob', senderId: await id('alice') },
        { id: second.sendMessage.messageId, sequence: 2, body: 'are you there?', senderId: await id('alice') },
      ]);
      live.unsubscribe();

      // Read-your-writes: the mutation answered after the projection passed its position,
      // so history has the message with no waiting here.
      expect(second.sendMessage.receipt?.projected).toBe(true);
      const history = await gql<History>(stack.queryUrl, HISTORY, { roomId }, await token('alice'));
      expect(history.messages.edges.map((e) => [e.node.sequence, e.node.body])).toEqual([
        [1, 'hello bob'],
        [2, 'are you there?'],
      ]);
      const [firstCursor, secondCursor] = history.messages.edges.map((e) => e.cursor);

      // Newest first for a chat screen, then older pages; every page reads oldest first.
      const newest = await gql(stack.queryUrl, PAGE_BACK, { roomId, last: 1 }, await token('bob'));
      expect(newest.messages).toEqual({
        edges: [{ node: { sequence: 2 } }],
        pageInfo: { startCursor: secondCursor, endCursor: secondCursor, hasPreviousPage: true, hasNextPage: false },
      });
      const older = await gql(stack.queryUrl, PAGE_BACK, { roomId, last: 5, before: secondCursor }, await token('bob'));
      expect(older.messages).toEqual({
        edges: [{ node: { sequence: 1 } }],
        pageInfo: { startCursor: firstCursor, endCursor: firstCursor, hasPreviousPage: false, hasNextPage: true },
      });
      await expect(
        gql(
          stack.queryUrl,
          `query($r: ID!) { messages(roomId: $r, first: 1, last: 1) { edges { cursor } } }`,
          { r: roomId },
          await token('bob'),
        ),
      ).rejects.toMatchObject({
        codes: ['INVALID_INPUT'],
      });

      // A subscriber that comes back with a cursor gets what it missed, once.
      const resumed = collect<{ messageAdded: { sequence: number } }>(client, LIVE, { roomId, after: firstCursor }, 1);
      expect((await resumed.done).map((r) => r.messageAdded.sequence)).toEqual([2]);
      resumed.unsubscribe();
    } finally {
      await client.dispose();
    }
  });

  it('writes the event to Kafka keyed by room id, as Confluent-framed Avro the registry can decode', async () => {
    const roomId = await newRoom('carol');
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const sent = await gql<Sent>(stack.commandUrl, SEND, { roomId, body: 'on the record', id: 'k-1' }, await token('carol'), {
      traceparent,
    });
    const receipt = sent.sendMessage.receipt!;
    const kafka = createKafka(stack.config, 'test-reader');
    const record = await readRecord(
      kafka,
      topicName(stack.config.topicPrefix, 'roomEvents'),
      receipt.position.partition,
      receipt.position.offset,
    );

    expect(record.key?.toString()).toBe(roomId);
    const value = record.value!;
    expect(value[0]).toBe(0); // Confluent magic byte
    const schemaId = value.readInt32BE(1);
    const schema = (await (await fetch(`${stack.config.schemaRegistryUrl}/schemas/ids/${schemaId}`)).json()) as { schema: string };
    expect(JSON.parse(schema.schema)).toMatchObject({ type: 'record', name: 'MessageSent', namespace: 'chat.events' });
    // Decoded by a registry client that knows nothing of our codec.
    const decoded = await new SchemaRegistry({ host: stack.config.schemaRegistryUrl }).decode(value);
    expect(decoded).toMatchObject({
      eventId: receipt.eventId,
      roomId,
      actorId: await id('carol'),
      commandId: 'k-1',
      messageId: sent.sendMessage.messageId,
      // Its content sealed (crypto-shredding): ciphertext for any reader without the keys.
      body: '',
      sealed: { dataKeyId: expect.any(String), shareId: expect.any(String) },
    });
    expect(value.includes(Buffer.from('on the record'))).toBe(false);
    expect(typeof decoded.occurredAt).toBe('number');
    expect(record.headers?.['event-type']?.toString()).toBe('MessageSent');
    // The caller's trace travels with the event: its trace id, with the span that sent the record as parent.
    const carried = record.headers?.traceparent?.toString();
    expect(carried).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-0[01]$/);
    expect(carried?.split('-')[2]).not.toBe(traceparent.split('-')[2]);
  });

  it('keeps one message when the same clientMessageId is sent twice', async () => {
    const roomId = await newRoom('dave');
    const before = await roomEventCount();

    const first = await send(roomId, 'only once', 'same-id', 'dave');
    const afterFirst = await roomEventCount();
    const again = await send(roomId, 'only once', 'same-id', 'dave');
    expect(first.sendMessage.receipt?.duplicate).toBe(false);
    expect(again.sendMessage).toMatchObject({
      __typename: 'MessageAccepted',
      messageId: first.sendMessage.messageId,
      receipt: { duplicate: true, eventId: first.sendMessage.receipt?.eventId },
    });
    // Nothing moved the log's end for the retry, and the room holds the one event.
    expect(afterFirst).toBeGreaterThan(before);
    expect(await roomEventCount()).toBe(afterFirst);
    const inLog = (await readRoomLog(stack.config)).filter((e) => e.event.roomId === roomId && e.event.commandId === 'same-id');
    expect(inLog.map((e) => e.event.eventId)).toEqual([first.sendMessage.receipt?.eventId]);
    const history = await gql<History>(stack.queryUrl, HISTORY, { roomId }, await token('dave'));
    expect(history.messages.edges.map((e) => e.node.clientMessageId)).toEqual(['same-id']);
  });

  it('refuses bad commands with typed errors and appends nothing', async () => {
    const roomId = await newRoom('erin');
    const before = await roomEventCount();

    const outsider = await send(roomId, 'let me in', 'x-1', 'mallory');
    expect(outsider.sendMessage).toMatchObject({ __typename: 'CommandError', code: 'NOT_A_MEMBER' });
    const blank = await send(roomId, '   ', 'x-2', 'erin');
    expect(blank.sendMessage).toMatchObject({ __typename: 'CommandError', code: 'INVALID_INPUT' });
    const tooLong = await send(roomId, 'x'.repeat(4001), 'x-3', 'erin');
    expect(tooLong.sendMessage).toMatchObject({ __typename: 'CommandError', code: 'INVALID_INPUT' });
    const nowhere = await send(crypto.randomUUID(), 'hello?', 'x-4', 'erin');
    expect(nowhere.sendMessage).toMatchObject({ __typename: 'CommandError', code: 'ROOM_NOT_FOUND' });
    const anonymous = await gql<Sent>(stack.commandUrl, SEND, { roomId, body: 'who am I', id: 'x-5' });
    expect(anonymous.sendMessage).toMatchObject({ __typename: 'CommandError', code: 'UNAUTHENTICATED' });

    expect(await roomEventCount()).toBe(before);
    await expect(gql(stack.queryUrl, HISTORY, { roomId }, await token('mallory'))).rejects.toMatchObject({ codes: ['NOT_A_MEMBER'] });
  });

  it('identifies subscribers by the token in connection_init or in the playground header, and refuses strangers', async () => {
    const roomId = await newRoom('frank');
    await send(roomId, 'members only', 'f-1', 'frank');
    const anonymous = wsClient(stack.queryWsUrl);
    try {
      // GraphiQL sends its header editor's contents inside each operation's extensions.
      const viaHeader = collect<{ messageAdded: { body: string } }>(anonymous, LIVE, { roomId, after: '0' }, 1, undefined, {
        headers: { Authorization: `Bearer ${await token('frank')}` },
      });
      expect((await viaHeader.done).map((r) => r.messageAdded.body)).toEqual(['members only']);
      viaHeader.unsubscribe();
      await expect(collect(anonymous, LIVE, { roomId, after: '0' }, 1).done).rejects.toThrow(/Bearer/);
      const stranger = wsClient(stack.queryWsUrl, await token('mallory'));
      await expect(collect(stranger, LIVE, { roomId }, 1).done).rejects.toThrow(/not a member/);
      await stranger.dispose();
    } finally {
      await anonymous.dispose();
    }
  });
});
