import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Instance, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';

// A projector that dies between its commit and its Redis publish takes the notification with
// it. Subscribers still get the change: the query service checks the committed revision of
// the rooms it serves every interval and re-reads those whose notifications never came. The
// projector here holds every publish for a minute (a test hook), so the kill always falls
// into that window.

const CREATE_ROOM = `mutation { createRoom(name: "quiet") { ... on RoomAccepted { roomId } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on MessageAccepted { receipt { projected } } } }`;
const ROOM_EVENTS = `subscription($roomId: ID!) { roomEvents(roomId: $roomId) { __typename ... on MessageSentEvent { revision message { body } } } }`;
const MESSAGES = `subscription($roomId: ID!) { messageAdded(roomId: $roomId) { sequence body } }`;

let stack: Stack;
let projector: Instance;

beforeAll(async () => {
  stack = await startStack('lost-notification');
  await stack.stopService('projector');
  projector = await stack.startExtra('projector', { TEST_PUBLISH_HOLD_MS: '60000' });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('a notification lost with its projector', () => {
  it('still reaches the subscribers of a quiet room, once', async () => {
    const { accessToken } = await signUp(stack.commandUrl, 'quinn');
    const roomId = (await gql(stack.commandUrl, CREATE_ROOM, {}, accessToken)).createRoom.roomId as string;
    const client = wsClient(stack.queryWsUrl, accessToken);
    try {
      const events = collect<any>(client, ROOM_EVENTS, { roomId }, 1);
      const messages = collect<any>(client, MESSAGES, { roomId }, 1);
      // Let both subscriptions start and the sweep get to know the room.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(events.items).toEqual([]);

      const sent = await gql(stack.commandUrl, SEND, { roomId, body: 'anyone there?', id: 'q1' }, accessToken);
      expect(sent.sendMessage).toMatchObject({ __typename: 'MessageAccepted', receipt: { projected: true } });
      const committed = performance.now();
      await projector.stop('SIGKILL'); // its publish was still held: no notification ever goes out

      await Promise.all([events.done, messages.done]);
      const delayMs = Math.round(performance.now() - committed);
      console.log(`lost notification recovered by the sweep ${delayMs} ms after the commit`);
      // Later sweeps find nothing more to deliver: the change arrived once.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(events.items).toEqual([{ roomEvents: { __typename: 'MessageSentEvent', revision: 2, message: { body: 'anyone there?' } } }]);
      expect(messages.items).toEqual([{ messageAdded: { sequence: 1, body: 'anyone there?' } }]);
      events.unsubscribe();
      messages.unsubscribe();
    } finally {
      await client.dispose();
    }
  });
});
