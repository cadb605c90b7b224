import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../src/accounts.ts';
import { createKafka, topicName } from '@chat/platform';
import { gql } from '../src/graphql.ts';
import { startStack, type Stack } from '@chat/infra';

// Nothing accepted is lost when a service dies: the projector resumes from its own
// checkpoint, and the command service rebuilds its state (idempotency keys included) from
// the log.

const CREATE_ROOM = `mutation { createRoom(name: "ops") { ... on RoomAccepted { roomId } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on MessageAccepted { messageId receipt { duplicate projected } } ... on CommandError { code } } }`;
const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, first: 200) { edges { node { sequence body } } } }`;

let stack: Stack;
/** The operator's access token: signing keys live in Postgres, so it outlives command-service restarts. */
let ops: string;

beforeAll(async () => {
  // A short visibility wait: with the projector down, mutations answer after 500 ms with projected=false.
  stack = await startStack('restarts', { VISIBILITY_TIMEOUT_MS: '500', PROJECTOR_SESSION_TIMEOUT_MS: '6000' });
  ops = (await signUp(stack.commandUrl, 'ops')).accessToken;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const send = (roomId: string, body: string, id: string) => gql(stack.commandUrl, SEND, { roomId, body, id }, ops);
const bodies = async (roomId: string) =>
  ((await gql(stack.queryUrl, HISTORY, { roomId }, ops)).messages.edges as { node: { sequence: number; body: string } }[]).map((e) => [
    e.node.sequence,
    e.node.body,
  ]);

/** How often the projector has logged that a group offset was ahead of its checkpoint, in all its runs so far. */
const aheadWarnings = () =>
  readFileSync(stack.instance('projector').log, 'utf8').split('the group offset was ahead of the checkpoint').length - 1;

describe('restarts', () => {
  it('a crashed projector catches up on restart, with gap-free sequences and nothing twice', async () => {
    const roomId = (await gql(stack.commandUrl, CREATE_ROOM, {}, ops)).createRoom.roomId as string;
    await send(roomId, 'before', 'p-0');
    const warned = aheadWarnings();
    await stack.stopService('projector', 'SIGKILL');

    const whileDown = [];
    for (let i = 1; i <= 5; i++) whileDown.push(await send(roomId, `while down ${i}`, `p-${i}`));
    // Accepted (Kafka has them) but not yet visible.
    expect(whileDown.map((r) => r.sendMessage.receipt.projected)).toEqual([false, false, false, false, false]);

    await stack.startService('projector');
    await expect.poll(() => bodies(roomId), { timeout: 20_000 }).toHaveLength(6);
    expect(await bodies(roomId)).toEqual([
      [1, 'before'],
      [2, 'while down 1'],
      [3, 'while down 2'],
      [4, 'while down 3'],
      [5, 'while down 4'],
      [6, 'while down 5'],
    ]);
    // Its group offsets were at its checkpoints or behind them: nothing to warn about (a
    // checkpoint points at a commit marker, so the first record read lies past it).
    expect(aheadWarnings()).toBe(warned);
  });

  it('a restarted command service remembers rooms, members and idempotency keys', async () => {
    const roomId = (await gql(stack.commandUrl, CREATE_ROOM, {}, ops)).createRoom.roomId as string;
    const first = await send(roomId, 'kept', 'r-1');
    await stack.stopService('command-service', 'SIGKILL');
    await stack.startService('command-service');

    const retried = await send(roomId, 'kept', 'r-1');
    expect(retried.sendMessage).toMatchObject({ messageId: first.sendMessage.messageId, receipt: { duplicate: true } });
    const next = await send(roomId, 'after restart', 'r-2');
    expect(next.sendMessage).toMatchObject({ __typename: 'MessageAccepted', receipt: { duplicate: false, projected: true } });
    expect(await bodies(roomId)).toEqual([
      [1, 'kept'],
      [2, 'after restart'],
    ]);
  });

  it('a projector starts from its own Postgres checkpoint, even when the group offset is ahead of it', async () => {
    const roomId = (await gql(stack.commandUrl, CREATE_ROOM, {}, ops)).createRoom.roomId as string;
    await send(roomId, 'projected', 'c-1');
    await stack.stopService('projector');
    for (let i = 2; i <= 4; i++) await send(roomId, `not yet ${i}`, `c-${i}`);
    // As if the group had been moved on by someone else (another schema, a restored backup):
    // its committed offsets now point past what this schema holds.
    const admin = createKafka(stack.config, 'test-offsets').admin();
    await admin.connect();
    try {
      for (const key of ['roomEvents', 'userEvents'] as const) {
        const topic = topicName(stack.config.topicPrefix, key);
        const ends = await admin.fetchTopicOffsets(topic);
        // Allowed once the group is empty: a projector killed earlier leaves it only at its session timeout.
        const moved = () =>
          admin
            .setOffsets({
              groupId: `${stack.config.topicPrefix}projector`,
              topic,
              partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
            })
            .then(
              () => true,
              () => false,
            );
        await expect.poll(moved, { timeout: 30_000, interval: 500 }).toBe(true);
      }
    } finally {
      await admin.disconnect();
    }
    await stack.startService('projector');
    await expect
      .poll(() => bodies(roomId), { timeout: 30_000 })
      .toEqual([
        [1, 'projected'],
        [2, 'not yet 2'],
        [3, 'not yet 3'],
        [4, 'not yet 4'],
      ]);
  });

  it('a rebalance between two projectors, then the death of one, loses and repeats nothing', async () => {
    const rooms: string[] = [];
    for (let r = 0; r < 4; r++) rooms.push((await gql(stack.commandUrl, CREATE_ROOM, {}, ops)).createRoom.roomId as string);
    const sent = new Map<string, string[]>(rooms.map((roomId) => [roomId, []]));
    const sendRound = async (label: string) =>
      Promise.all(
        rooms.map(async (roomId) => {
          for (let i = 0; i < 5; i++) {
            const body = `${label} ${i}`;
            await send(roomId, body, `${label}-${roomId}-${i}`);
            sent.get(roomId)!.push(body);
          }
        }),
      );

    await sendRound('alone');
    const second = stack.startExtra('projector'); // joins the group: partitions move
    await sendRound('rebalancing');
    await second;
    await sendRound('shared');
    await stack.stopService('projector', 'SIGKILL'); // the first dies; the second takes over
    await sendRound('after crash');

    for (const roomId of rooms) {
      const expected = sent.get(roomId)!.map((body, i) => [i + 1, body]);
      await expect.poll(() => bodies(roomId), { timeout: 30_000 }).toEqual(expected);
    }
  });
});
