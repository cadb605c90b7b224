import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, roomCursor, topicName } from '@chat/platform';
import { startStack, type Stack } from '@chat/infra';
import { TestUsers } from '../src/accounts.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';
import { topicSize } from '../src/kafka.ts';

// Rooms, roles and direct rooms end to end, for three users: what each may do, what each
// sees, and that every refusal comes back typed and appends nothing.

const RESULT = `__typename ... on RoomAccepted { roomId receipt { revision projected } } ... on CommandError { code message }`;
const CREATE = `mutation($name: String!, $topic: String, $visibility: Visibility) {
  createRoom(name: $name, topic: $topic, visibility: $visibility) { ${RESULT} } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { ${RESULT} } }`;
const LEAVE = `mutation($roomId: ID!) { leaveRoom(roomId: $roomId) { ${RESULT} } }`;
const INVITE = `mutation($roomId: ID!, $userId: ID!) { inviteMember(roomId: $roomId, userId: $userId) { ${RESULT} } }`;
const REMOVE = `mutation($roomId: ID!, $userId: ID!) { removeMember(roomId: $roomId, userId: $userId) { ${RESULT} } }`;
const SET_ROLE = `mutation($roomId: ID!, $userId: ID!, $role: Role!) { setMemberRole(roomId: $roomId, userId: $userId, role: $role) { ${RESULT} } }`;
const RENAME = `mutation($roomId: ID!, $name: String!) { renameRoom(roomId: $roomId, name: $name) { ${RESULT} } }`;
const OPEN_DIRECT = `mutation($userId: ID!) { openDirect(userId: $userId) { ${RESULT} } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) {
  __typename ... on CommandError { code } } }`;
const ROOM = `query($id: ID!) { room(id: $id) { id name topic visibility kind myRole
  members(first: 10) { edges { node { userId role user { username } } } pageInfo { hasNextPage } } } }`;
const PUBLIC_ROOMS = `query($search: String, $first: Int, $after: String) { publicRooms(search: $search, first: $first, after: $after) {
  edges { node { name } } hasNextPage endCursor } }`;
const INVITATIONS = `query { myInvitations { room { id name } invitedBy { username } } }`;
const ROOM_EVENTS = `subscription($roomId: ID!, $after: String) { roomEvents(roomId: $roomId, after: $after) {
  __typename ... on MessageSentEvent { revision message { body } } ... on MessageEditedEvent { revision body }
  ... on ReactionAddedEvent { revision emoji actor { username } } ... on MessageDeletedEvent { revision messageId }
  ... on RoomRenamedEvent { revision name } ... on MemberJoinedEvent { revision user { username } role }
  ... on MemberRoleChangedEvent { revision cursor userId role } ... on MemberRemovedEvent { revision userId }
  ... on RoomCreatedEvent { revision name } ... on ReadMarkerMovedEvent { revision upTo } } }`;
const EDIT = `mutation($roomId: ID!, $messageId: ID!, $body: String!) { editMessage(roomId: $roomId, messageId: $messageId, body: $body) { __typename } }`;
const REACT = `mutation($roomId: ID!, $messageId: ID!) { addReaction(roomId: $roomId, messageId: $messageId, emoji: "🎉") { __typename } }`;
const DELETE = `mutation($roomId: ID!, $messageId: ID!) { deleteMessage(roomId: $roomId, messageId: $messageId) { __typename } }`;
const MARK = `mutation($roomId: ID!, $upTo: String!) { markRead(roomId: $roomId, upTo: $upTo) { __typename } }`;
const SEND_ID = `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) {
  ... on MessageAccepted { messageId } } }`;
const MY_EVENTS = `subscription { myEvents { __typename
  ... on InvitedEvent { room { id name } by { username } } ... on AddedToRoomEvent { room { id kind } by { username } }
  ... on RoomJoinedEvent { roomId } ... on MentionedEvent { roomId message { body } by { username } }
  ... on UnreadChangedEvent { room { id unreadCount unreadMentions } } ... on RoomLeftEvent { roomId } } }`;
const TYPING = `subscription($roomId: ID!) { typing(roomId: $roomId) { users { username } } }`;
const SET_TYPING = `mutation($roomId: ID!, $typing: Boolean) { setTyping(roomId: $roomId, typing: $typing) }`;
const PRESENCE = `query($search: String!) { users(search: $search) { username presence { status lastSeenAt } } }`;
const SET_PRESENCE = `mutation($status: PresenceStatus!) { setPresence(status: $status) }`;
const ROOM_HISTORY = `query($id: ID!) { room(id: $id) { messages(last: 2) { edges { node { body } } pageInfo { hasPreviousPage } } } }`;
const LIVE = `subscription($roomId: ID!) { messageAdded(roomId: $roomId) { body } }`;

let stack: Stack;
let users: TestUsers;

beforeAll(async () => {
  stack = await startStack('rooms');
  users = new TestUsers(stack.commandUrl);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

async function as(name: string, query: string, variables: Record<string, unknown>) {
  const data = await gql(stack.commandUrl, query, variables, await users.token(name));
  return Object.values(data)[0] as { __typename: string; roomId?: string; code?: string; receipt?: { revision: number } };
}

async function read(name: string, query: string, variables: Record<string, unknown> = {}) {
  return gql(stack.queryUrl, query, variables, await users.token(name));
}

const roomEventCount = () => topicSize(createKafka(stack.config, 'test-sizes'), topicName(stack.config.topicPrefix, 'roomEvents'));

describe('rooms, roles and direct rooms', () => {
  it('keeps a private room to its members and the invited, with roles deciding who manages', async () => {
    const [olga, pete] = [await users.id('olga'), await users.id('pete')];
    const created = await as('olga', CREATE, { name: 'plans', topic: 'q3', visibility: 'PRIVATE' });
    expect(created.__typename).toBe('RoomAccepted');
    const roomId = created.roomId!;

    // Invisible and closed to a stranger.
    expect((await read('sam', ROOM, { id: roomId })).room).toBeNull();
    const before = await roomEventCount();
    expect(await as('sam', JOIN, { roomId })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await as('pete', JOIN, { roomId })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await as('pete', INVITE, { roomId, userId: olga })).toMatchObject({ code: 'NOT_A_MEMBER' });
    expect(await as('olga', INVITE, { roomId, userId: crypto.randomUUID() })).toMatchObject({ code: 'USER_NOT_FOUND' });
    expect(await roomEventCount()).toBe(before);

    // Invited: pete sees the room and the invitation, and may join.
    expect(await as('olga', INVITE, { roomId, userId: pete })).toMatchObject({ __typename: 'RoomAccepted' });
    await expect
      .poll(async () => (await read('pete', INVITATIONS)).myInvitations, { timeout: 10_000 })
      .toEqual([{ room: { id: roomId, name: 'plans' }, invitedBy: { username: 'olga' } }]);
    expect((await read('pete', ROOM, { id: roomId })).room).toMatchObject({ name: 'plans', myRole: null });
    expect(await as('pete', JOIN, { roomId })).toMatchObject({ __typename: 'RoomAccepted', receipt: { projected: true } });
    expect((await read('pete', INVITATIONS)).myInvitations).toEqual([]);
    const seen = (await read('pete', ROOM, { id: roomId })).room;
    expect(seen).toMatchObject({ id: roomId, topic: 'q3', visibility: 'PRIVATE', kind: 'GROUP', myRole: 'MEMBER' });
    expect(seen.members.edges.map((e: any) => [e.node.user.username, e.node.role]).sort()).toEqual([
      ['olga', 'OWNER'],
      ['pete', 'MEMBER'],
    ]);

    // A member may not manage; an admin may rename; the last owner may not leave.
    expect(await as('pete', RENAME, { roomId, name: 'mine' })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await as('olga', SET_ROLE, { roomId, userId: pete, role: 'ADMIN' })).toMatchObject({ __typename: 'RoomAccepted' });
    expect(await as('pete', RENAME, { roomId, name: 'plans 2' })).toMatchObject({ __typename: 'RoomAccepted' });
    expect(await as('pete', SET_ROLE, { roomId, userId: olga, role: 'MEMBER' })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await as('olga', LEAVE, { roomId })).toMatchObject({ code: 'LAST_OWNER' });
    expect(await as('olga', SET_ROLE, { roomId, userId: olga, role: 'MEMBER' })).toMatchObject({ code: 'LAST_OWNER' });
    await expect
      .poll(async () => (await read('olga', ROOM, { id: roomId })).room, { timeout: 10_000 })
      .toMatchObject({ name: 'plans 2', myRole: 'OWNER' });
  });

  it('ends a removed member’s live subscription at once, and refuses their messages', async () => {
    const created = await as('quinn', CREATE, { name: 'lobby' });
    const roomId = created.roomId!;
    expect(await as('rosa', JOIN, { roomId })).toMatchObject({ __typename: 'RoomAccepted' });
    const client = wsClient(stack.queryWsUrl, await users.token('rosa'));
    try {
      const live = collect<{ messageAdded: { body: string } }>(client, LIVE, { roomId }, 10);
      await new Promise((resolve) => setTimeout(resolve, 300)); // subscribed
      expect(await as('quinn', SEND, { roomId, body: 'before', key: 'k1' })).toMatchObject({ __typename: 'MessageAccepted' });
      await expect.poll(() => live.items.map((i) => i.messageAdded.body), { timeout: 10_000 }).toEqual(['before']);
      expect(await as('quinn', REMOVE, { roomId, userId: await users.id('rosa') })).toMatchObject({ __typename: 'RoomAccepted' });
      await expect(live.done).rejects.toThrow(/no longer a member/);
      expect(await as('quinn', SEND, { roomId, body: 'after', key: 'k2' })).toMatchObject({ __typename: 'MessageAccepted' });
      expect(live.items.map((i) => i.messageAdded.body)).toEqual(['before']);
      expect(await as('rosa', SEND, { roomId, body: 'let me back', key: 'k3' })).toMatchObject({ code: 'NOT_A_MEMBER' });
    } finally {
      await client.dispose();
    }
  });

  it('opens one direct room per pair, from either side, that nobody else can enter', async () => {
    const [tina, uma] = [await users.id('tina'), await users.id('uma')];
    const first = await as('tina', OPEN_DIRECT, { userId: uma });
    expect(first).toMatchObject({ __typename: 'RoomAccepted', receipt: { revision: 2 } });
    const again = await as('uma', OPEN_DIRECT, { userId: tina });
    expect(again.roomId).toBe(first.roomId);
    const roomId = first.roomId!;
    expect(await as('vic', JOIN, { roomId })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await as('tina', INVITE, { roomId, userId: await users.id('vic') })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await as('tina', LEAVE, { roomId })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await as('tina', OPEN_DIRECT, { userId: tina })).toMatchObject({ code: 'INVALID_INPUT' });
    expect((await read('vic', ROOM, { id: roomId })).room).toBeNull();
    expect((await read('uma', ROOM, { id: roomId })).room).toMatchObject({ kind: 'DIRECT', visibility: 'PRIVATE', myRole: 'OWNER' });
    expect(await as('uma', SEND, { roomId, body: 'hi', key: 'd1' })).toMatchObject({ __typename: 'MessageAccepted' });
  });

  it('lists public rooms by name, searchable and paged, never private or direct ones', async () => {
    for (const name of ['Zebra talk', 'zeal', 'ZEN garden', 'other']) await as('wes', CREATE, { name });
    await as('wes', CREATE, { name: 'zero secrets', visibility: 'PRIVATE' });
    const first = (await read('xena', PUBLIC_ROOMS, { search: 'ZE', first: 2 })).publicRooms;
    expect(first.edges.map((e: any) => e.node.name)).toEqual(['zeal', 'Zebra talk']);
    expect(first.hasNextPage).toBe(true);
    const second = (await read('xena', PUBLIC_ROOMS, { search: 'ZE', first: 2, after: first.endCursor })).publicRooms;
    expect(second.edges.map((e: any) => e.node.name)).toEqual(['ZEN garden']);
    expect(second.hasNextPage).toBe(false);
    // LIKE wildcards in a search are plain characters.
    expect((await read('xena', PUBLIC_ROOMS, { search: '%' })).publicRooms.edges).toEqual([]);
    await expect(read('xena', PUBLIC_ROOMS, { search: 'x\u0000' })).rejects.toMatchObject({ codes: ['INVALID_INPUT'] });
  });

  it('delivers every change of a room over roomEvents in revision order, replayed then live, ending with the member’s removal', async () => {
    const roomId = (await as('yara', CREATE, { name: 'events' })).roomId!;
    await as('zack', JOIN, { roomId });
    const zack = await users.id('zack');
    const client = wsClient(stack.queryWsUrl, await users.token('zack'));
    try {
      // From the start (after 0): the two events so far are replayed, the rest arrive live.
      const events = collect<{ roomEvents: any }>(client, ROOM_EVENTS, { roomId, after: '0' }, 100);
      await expect.poll(() => events.items.length, { timeout: 10_000 }).toBe(2);
      const messageId = (await gql(stack.commandUrl, SEND_ID, { roomId, body: 'first', key: 'e1' }, await users.token('yara'))).sendMessage
        .messageId;
      await gql(stack.commandUrl, EDIT, { roomId, messageId, body: 'first!' }, await users.token('yara'));
      await gql(stack.commandUrl, REACT, { roomId, messageId }, await users.token('zack'));
      await gql(stack.commandUrl, MARK, { roomId, upTo: roomCursor('message', roomId, 1) }, await users.token('zack'));
      await as('yara', RENAME, { roomId, name: 'events 2' });
      await as('yara', SET_ROLE, { roomId, userId: zack, role: 'ADMIN' });
      await gql(stack.commandUrl, DELETE, { roomId, messageId }, await users.token('yara'));
      await as('yara', SET_ROLE, { roomId, userId: zack, role: 'MEMBER' });
      await as('yara', REMOVE, { roomId, userId: zack });
      const all = (await events.done).map((e) => e.roomEvents);
      expect(all.map((e) => e.revision)).toEqual(all.map((_, i) => i + 1));
      expect(all).toMatchObject([
        { __typename: 'RoomCreatedEvent', name: 'events' },
        { __typename: 'MemberJoinedEvent', user: { username: 'zack' }, role: 'MEMBER' },
        { __typename: 'MessageSentEvent', message: { body: expect.any(String) } },
        { __typename: 'MessageEditedEvent', body: 'first!' },
        { __typename: 'ReactionAddedEvent', emoji: '🎉', actor: { username: 'zack' } },
        { __typename: 'ReadMarkerMovedEvent', upTo: roomCursor('message', roomId, 1) },
        { __typename: 'RoomRenamedEvent', name: 'events 2' },
        { __typename: 'MemberRoleChangedEvent', userId: zack, role: 'ADMIN' },
        { __typename: 'MessageDeletedEvent', messageId },
        { __typename: 'MemberRoleChangedEvent', userId: zack, role: 'MEMBER' },
        { __typename: 'MemberRemovedEvent', userId: zack },
      ]);

      // Resuming from a cursor replays exactly what came after it (here, as the owner).
      const owner = wsClient(stack.queryWsUrl, await users.token('yara'));
      try {
        expect(all[7].revision).toBe(8);
        const resumed = collect<{ roomEvents: any }>(owner, ROOM_EVENTS, { roomId, after: all[7].cursor }, 3);
        expect((await resumed.done).map((e) => e.roomEvents.revision)).toEqual([9, 10, 11]);
        resumed.unsubscribe();
      } finally {
        await owner.dispose();
      }
    } finally {
      await client.dispose();
    }
  });

  it('gives a room’s eventCursor, from which roomEvents delivers the next change first, with nothing skipped or repeated', async () => {
    const roomId = (await as('yara', CREATE, { name: 'cursor' })).roomId!;
    await as('zack', JOIN, { roomId });
    // Read as the client would on opening a room: the room, then a subscription from its cursor.
    const { room } = await read('zack', `query($id: ID!) { room(id: $id) { eventCursor } }`, { id: roomId });
    expect(room.eventCursor).toBe(roomCursor('event', roomId, 2));
    await gql(stack.commandUrl, SEND_ID, { roomId, body: 'after the cursor', key: 'c1' }, await users.token('yara'));
    const client = wsClient(stack.queryWsUrl, await users.token('zack'));
    try {
      const events = collect<{ roomEvents: any }>(
        client,
        `subscription($roomId: ID!, $after: String) { roomEvents(roomId: $roomId, after: $after) {
          __typename ... on MessageSentEvent { revision message { body } } } }`,
        { roomId, after: room.eventCursor },
        1,
      );
      expect((await events.done).map((e) => e.roomEvents)).toEqual([
        { __typename: 'MessageSentEvent', revision: 3, message: { body: 'after the cursor' } },
      ]);
      events.unsubscribe();
    } finally {
      await client.dispose();
    }
  });

  it('tells a user over myEvents about invitations, direct rooms, joins, mentions, unread changes and removals', async () => {
    const [moe, nia] = [await users.id('moe'), await users.id('nia')];
    const client = wsClient(stack.queryWsUrl, await users.token('nia'));
    try {
      const events = collect<{ myEvents: any }>(client, MY_EVENTS, {}, 100);
      await new Promise((resolve) => setTimeout(resolve, 300)); // subscribed
      const roomId = (await as('moe', CREATE, { name: 'secret plans', visibility: 'PRIVATE' })).roomId!;
      await as('moe', INVITE, { roomId, userId: nia });
      const direct = (await as('moe', OPEN_DIRECT, { userId: nia })).roomId!;
      await as('nia', JOIN, { roomId });
      await as('moe', SEND, { roomId, body: 'hi @nia', key: 'my1' });
      await gql(stack.commandUrl, MARK, { roomId, upTo: roomCursor('message', roomId, 1) }, await users.token('nia'));
      await as('moe', REMOVE, { roomId, userId: nia });

      const expected = [
        { __typename: 'InvitedEvent', room: { id: roomId, name: 'secret plans' }, by: { username: 'moe' } },
        { __typename: 'AddedToRoomEvent', room: { id: direct, kind: 'DIRECT' }, by: { username: 'moe' } },
        { __typename: 'RoomJoinedEvent', roomId },
        { __typename: 'UnreadChangedEvent', room: { id: roomId, unreadCount: 1, unreadMentions: 1 } },
        { __typename: 'MentionedEvent', roomId, message: { body: 'hi @nia' }, by: { username: 'moe' } },
        { __typename: 'UnreadChangedEvent', room: { id: roomId, unreadCount: 0, unreadMentions: 0 } },
        { __typename: 'RoomLeftEvent', roomId },
      ];
      await expect.poll(() => events.items.map((e) => e.myEvents), { timeout: 10_000 }).toMatchObject(expected);
      expect(moe).not.toBe(nia);
      events.unsubscribe();
    } finally {
      await client.dispose();
    }
  });

  it('shows who is typing to the others, for a few seconds unless renewed', async () => {
    const roomId = (await as('tyra', CREATE, { name: 'typing' })).roomId!;
    await as('uwe', JOIN, { roomId });
    const client = wsClient(stack.queryWsUrl, await users.token('uwe'));
    try {
      const seen = collect<{ typing: { users: { username: string }[] } }>(client, TYPING, { roomId }, 100);
      await expect.poll(() => seen.items.length, { timeout: 5000 }).toBe(1); // the state now: nobody
      const typing = async (on: boolean) => gql(stack.queryUrl, SET_TYPING, { roomId, typing: on }, await users.token('tyra'));
      await typing(true);
      await typing(false);
      await typing(true);
      const names = () => seen.items.map((i) => i.typing.users.map((u) => u.username));
      await expect.poll(names, { timeout: 5000 }).toEqual([[], ['tyra'], [], ['tyra']]);
      // Not renewed: gone after its few seconds.
      await expect.poll(names, { timeout: 10_000, interval: 500 }).toEqual([[], ['tyra'], [], ['tyra'], []]);
      // Only members may signal.
      await expect(gql(stack.queryUrl, SET_TYPING, { roomId }, await users.token('vera'))).rejects.toMatchObject({
        codes: ['NOT_A_MEMBER'],
      });
      seen.unsubscribe();
    } finally {
      await client.dispose();
    }
  });

  it('derives presence from sockets on every query-service instance: online once, away on request, offline with a last-seen time', async () => {
    await users.get('wyn');
    const status = async () => (await read('xavi', PRESENCE, { search: 'wyn' })).users[0].presence;
    expect(await status()).toEqual({ status: 'OFFLINE', lastSeenAt: null });
    const second = await stack.startExtra('query-service');
    const one = wsClient(stack.queryWsUrl, await users.token('wyn'));
    const two = wsClient(second.url.replace('http', 'ws'), await users.token('wyn'));
    try {
      // A socket is registered once its connection is acknowledged; a subscription makes sure of it.
      const waitOpen = async (client: ReturnType<typeof wsClient>) => {
        const s = collect(client, TYPING, { roomId: crypto.randomUUID() }, 1);
        await s.done.catch(() => undefined);
      };
      await Promise.all([waitOpen(one), waitOpen(two)]);
      expect(await status()).toMatchObject({ status: 'ONLINE' });
      await gql(stack.queryUrl, SET_PRESENCE, { status: 'AWAY' }, await users.token('wyn'));
      expect(await status()).toMatchObject({ status: 'AWAY' });
      await gql(stack.queryUrl, SET_PRESENCE, { status: 'ONLINE' }, await users.token('wyn'));
      await one.dispose();
      await expect.poll(status, { timeout: 5000 }).toMatchObject({ status: 'ONLINE' });
      await two.dispose();
      await expect.poll(async () => (await status()).status, { timeout: 5000 }).toBe('OFFLINE');
      expect(Date.parse((await status()).lastSeenAt)).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      await one.dispose();
      await two.dispose();
      await second.stop();
    }
  });

  it('pages a room’s history from the room itself', async () => {
    const roomId = (await as('yves', CREATE, { name: 'paged' })).roomId!;
    for (const body of ['one', 'two', 'three']) await as('yves', SEND, { roomId, body, key: body });
    const room = (await read('yves', ROOM_HISTORY, { id: roomId })).room;
    expect(room.messages).toEqual({ edges: [{ node: { body: 'two' } }, { node: { body: 'three' } }], pageInfo: { hasPreviousPage: true } });
  });
});
