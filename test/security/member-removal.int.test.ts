import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { gql, wsClient } from '../src/graphql.ts';

// Issue 18, attack 2 (membership): a member removed from a room must stop receiving its live
// events at once, on every transport and every instance. Subscriptions have one transport,
// graphql-ws (subscriptions-over-http.int.test.ts); here the removed member has messageAdded,
// roomEvents and typing open on two query-service instances, and each ends with the removal:
// nothing sent after it reaches them, while a member who stays receives it.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('removal');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const SUBSCRIPTIONS = {
  messages: `subscription($roomId: ID!) { messageAdded(roomId: $roomId) { body } }`,
  events: `subscription($roomId: ID!) { roomEvents(roomId: $roomId) { __typename ... on MessageSentEvent { message { body } } } }`,
  typing: `subscription($roomId: ID!) { typing(roomId: $roomId) { userIds } }`,
};

interface Watched {
  results: { data?: unknown; errors?: { extensions?: { code?: string } }[] }[];
  ended: Promise<string>;
}

function watch(client: ReturnType<typeof wsClient>, query: string, roomId: string): Watched {
  const results: Watched['results'] = [];
  const ended = new Promise<string>((resolve) => {
    client.subscribe(
      { query, variables: { roomId } },
      {
        next: (result) => void results.push(result as Watched['results'][number]),
        error: () => resolve('error'),
        complete: () => resolve('complete'),
      },
    );
  });
  return { results, ended };
}

describe('a removed member', () => {
  it('stops receiving the room at once, on every subscription and instance', async () => {
    const other = await stack.startExtra('query-service');
    const [owner, removed, stays] = await Promise.all(['owner', 'removed', 'stays'].map((name) => signUp(stack.commandUrl, name)));
    const roomId = (
      await gql(stack.commandUrl, `mutation { createRoom(name: "club") { ... on RoomAccepted { roomId } } }`, {}, owner!.accessToken)
    ).createRoom.roomId as string;
    for (const user of [removed!, stays!]) {
      await gql(stack.commandUrl, `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`, { roomId }, user.accessToken);
    }
    const clients = [
      wsClient(stack.queryWsUrl, removed!.accessToken),
      wsClient(other.url.replace('http', 'ws'), removed!.accessToken),
      wsClient(other.url.replace('http', 'ws'), stays!.accessToken),
    ];
    const [here, there, bystander] = clients as [ReturnType<typeof wsClient>, ReturnType<typeof wsClient>, ReturnType<typeof wsClient>];
    try {
      const watched = [here, there].flatMap((client) => Object.values(SUBSCRIPTIONS).map((query) => watch(client, query, roomId)));
      const staying = watch(bystander, SUBSCRIPTIONS.messages, roomId);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const send = (body: string) =>
        gql(
          stack.commandUrl,
          `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) { __typename } }`,
          { roomId, body, key: body },
          owner!.accessToken,
        );
      await send('before');
      await expect.poll(() => staying.results.length).toBe(1);

      await gql(
        stack.commandUrl,
        `mutation($roomId: ID!, $userId: ID!) { removeMember(roomId: $roomId, userId: $userId) { __typename } }`,
        { roomId, userId: removed!.userId },
        owner!.accessToken,
      );
      // Every one of the six ends: messageAdded with NOT_A_MEMBER, roomEvents after delivering the removal, typing quietly.
      const endings = await Promise.all(watched.map((w) => w.ended));
      expect(endings).toEqual(['error', 'complete', 'complete', 'error', 'complete', 'complete']);

      await send('after');
      await expect.poll(() => staying.results.length).toBe(2);
      for (const w of watched) expect(JSON.stringify(w.results)).not.toContain('after');
      expect(JSON.stringify(watched[0]!.results)).toContain('before');
      // And a new subscription is refused.
      const again = watch(there, SUBSCRIPTIONS.messages, roomId);
      expect(await again.ended).toBe('complete');
      expect(again.results).toMatchObject([{ errors: [{ extensions: { code: 'NOT_A_MEMBER' } }] }]);
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
      await other.stop();
    }
  });
});
