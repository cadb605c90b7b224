import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, roomCursor, topicName } from '@chat/platform';
import { startStack, type Stack } from '@chat/infra';
import { TestUsers } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';
import { topicSize } from '../src/kafka.ts';

// Replies, edits, deletes and reactions end to end: who may do what, what history shows, and
// that every refusal is typed and appends nothing. The command side keeps message facts for a
// window only (2 s here): the last test acts on a message older than that, whose fact comes
// from the read model.

const WINDOW_MS = 2000;
const OUTCOME = `__typename ... on MessageAccepted { messageId receipt { eventId projected } } ... on CommandError { code message }`;
const CREATE = `mutation($name: String!) { createRoom(name: $name) { ... on RoomAccepted { roomId } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!, $replyTo: ID) {
  sendMessage(roomId: $roomId, body: $body, clientMessageId: $key, replyTo: $replyTo) { ${OUTCOME} } }`;
const EDIT = `mutation($roomId: ID!, $messageId: ID!, $body: String!) { editMessage(roomId: $roomId, messageId: $messageId, body: $body) { ${OUTCOME} } }`;
const DELETE = `mutation($roomId: ID!, $messageId: ID!) { deleteMessage(roomId: $roomId, messageId: $messageId) { ${OUTCOME} } }`;
const REACT = `mutation($roomId: ID!, $messageId: ID!, $emoji: String!) { addReaction(roomId: $roomId, messageId: $messageId, emoji: $emoji) { ${OUTCOME} } }`;
const UNREACT = `mutation($roomId: ID!, $messageId: ID!, $emoji: String!) { removeReaction(roomId: $roomId, messageId: $messageId, emoji: $emoji) { ${OUTCOME} } }`;
const MARK_READ = `mutation($roomId: ID!, $upTo: String!) { markRead(roomId: $roomId, upTo: $upTo) { ${OUTCOME} } }`;
const MY_ROOMS = `query($first: Int, $after: String) { myRooms(first: $first, after: $after) {
  edges { node { id name unreadCount unreadMentions lastMessage { body } } } hasNextPage endCursor } }`;
const SEARCH = `query($query: String!, $first: Int, $after: String) { searchMessages(query: $query, first: $first, after: $after) {
  edges { rank node { body room { id } } } hasNextPage endCursor } }`;
const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, last: 50) { edges { node {
  id body deleted editedAt sender { username } replyTo { id body sender { username } } reactions { emoji count me } } } } }`;

let stack: Stack;
let users: TestUsers;

beforeAll(async () => {
  stack = await startStack('messages', { IDEMPOTENCY_WINDOW_MS: String(WINDOW_MS), SNAPSHOT_INTERVAL_MS: '300' });
  users = new TestUsers(stack.commandUrl);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

async function as(name: string, query: string, variables: Record<string, unknown>) {
  const data = await gql(stack.commandUrl, query, variables, await users.token(name));
  return Object.values(data)[0] as { __typename: string; messageId?: string; code?: string; receipt?: { eventId: string | null } };
}

async function history(name: string, roomId: string) {
  return ((await gql(stack.queryUrl, HISTORY, { roomId }, await users.token(name))).messages.edges as { node: any }[]).map((e) => e.node);
}

const roomEventCount = () => topicSize(createKafka(stack.config, 'test-sizes'), topicName(stack.config.topicPrefix, 'roomEvents'));

async function roomWith(owner: string, ...members: string[]): Promise<string> {
  const roomId = (await gql(stack.commandUrl, CREATE, { name: 'talk' }, await users.token(owner))).createRoom.roomId as string;
  for (const member of members) await as(member, JOIN, { roomId });
  return roomId;
}

describe('replies, edits, deletes and reactions', () => {
  it('replies, edits, reacts and deletes by the rules, and history shows the result', async () => {
    const roomId = await roomWith('ann', 'ben');
    const first = await as('ann', SEND, { roomId, body: 'lunch?', key: 'm1' });
    const reply = await as('ben', SEND, { roomId, body: 'yes', key: 'm2', replyTo: first.messageId });
    expect(reply).toMatchObject({ __typename: 'MessageAccepted' });
    const messageId = reply.messageId!;

    expect(await as('ben', EDIT, { roomId, messageId, body: 'yes, at noon' })).toMatchObject({ __typename: 'MessageAccepted' });
    expect(await as('ben', REACT, { roomId, messageId: first.messageId, emoji: '👍🏽' })).toMatchObject({ __typename: 'MessageAccepted' });
    expect(await as('ann', REACT, { roomId, messageId: first.messageId, emoji: '👍🏽' })).toMatchObject({ __typename: 'MessageAccepted' });
    // Reacting again changes nothing: accepted, nothing appended.
    expect(await as('ann', REACT, { roomId, messageId: first.messageId, emoji: '👍🏽' })).toMatchObject({ receipt: { eventId: null } });
    expect(await as('ann', REACT, { roomId, messageId: first.messageId, emoji: '🎉' })).toMatchObject({ __typename: 'MessageAccepted' });
    expect(await as('ann', UNREACT, { roomId, messageId: first.messageId, emoji: '🎉' })).toMatchObject({ __typename: 'MessageAccepted' });

    const before = await roomEventCount();
    const refusals: [string, Promise<{ code?: string }>, string][] = [
      ["editing another's message", as('ann', EDIT, { roomId, messageId, body: 'no' }), 'FORBIDDEN'],
      ['a stranger reacting', as('cyd', REACT, { roomId, messageId, emoji: '👍' }), 'NOT_A_MEMBER'],
      ['two emoji', as('ann', REACT, { roomId, messageId, emoji: '👍👍' }), 'INVALID_INPUT'],
      ['a letter for an emoji', as('ann', REACT, { roomId, messageId, emoji: 'a' }), 'INVALID_INPUT'],
      ['replying to no message', as('ann', SEND, { roomId, body: 'hm', key: 'm3', replyTo: crypto.randomUUID() }), 'MESSAGE_NOT_FOUND'],
      ['editing no message', as('ann', EDIT, { roomId, messageId: crypto.randomUUID(), body: 'x' }), 'MESSAGE_NOT_FOUND'],
      ["a member deleting another's message", as('ben', DELETE, { roomId, messageId: first.messageId }), 'FORBIDDEN'],
    ];
    for (const [what, outcome, code] of refusals) expect(await outcome, what).toMatchObject({ __typename: 'CommandError', code });
    expect(await roomEventCount()).toBe(before);

    await expect
      .poll(() => history('ben', roomId), { timeout: 10_000 })
      .toMatchObject([
        { body: 'lunch?', reactions: [{ emoji: '👍🏽', count: 2, me: true }], replyTo: null, sender: { username: 'ann' } },
        { body: 'yes, at noon', deleted: false, replyTo: { id: first.messageId, body: 'lunch?', sender: { username: 'ann' } } },
      ]);
    expect((await history('ben', roomId))[1].editedAt).not.toBeNull();

    // The owner deletes ben's reply: its place stays, its body and reactions go, and nothing more can happen to it.
    expect(await as('ann', REACT, { roomId, messageId, emoji: '🎉' })).toMatchObject({ __typename: 'MessageAccepted' });
    expect(await as('ann', DELETE, { roomId, messageId })).toMatchObject({ __typename: 'MessageAccepted', receipt: { projected: true } });
    expect(await as('ann', DELETE, { roomId, messageId })).toMatchObject({ receipt: { eventId: null } });
    expect(await as('ben', EDIT, { roomId, messageId, body: 'undo' })).toMatchObject({ code: 'MESSAGE_DELETED' });
    expect(await as('ann', REACT, { roomId, messageId, emoji: '👍' })).toMatchObject({ code: 'MESSAGE_DELETED' });
    expect(await as('ann', SEND, { roomId, body: 're', key: 'm4', replyTo: messageId })).toMatchObject({ code: 'MESSAGE_DELETED' });
    const [, tombstone] = await history('ann', roomId);
    expect(tombstone).toMatchObject({ id: messageId, body: '', deleted: true, reactions: [] });
  });

  it('decides on a message older than the window from the read model, and remembers it after', async () => {
    const roomId = await roomWith('dee', 'eli');
    const old = await as('dee', SEND, { roomId, body: 'an old one', key: 'o1' });
    await as('eli', REACT, { roomId, messageId: old.messageId, emoji: '👍' });
    // Past the window, and past an upkeep that forgets what is older.
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 1000));

    expect(await as('eli', EDIT, { roomId, messageId: old.messageId, body: 'mine now' })).toMatchObject({ code: 'FORBIDDEN' });
    // eli's reaction is known from the read model: reacting again is a no-op.
    expect(await as('eli', REACT, { roomId, messageId: old.messageId, emoji: '👍' })).toMatchObject({ receipt: { eventId: null } });
    expect(await as('dee', EDIT, { roomId, messageId: old.messageId, body: 'an old one, edited' })).toMatchObject({
      __typename: 'MessageAccepted',
    });
    expect(await as('dee', DELETE, { roomId, messageId: old.messageId })).toMatchObject({ __typename: 'MessageAccepted' });
    // Decided from memory now, whatever the read model says yet.
    expect(await as('eli', REACT, { roomId, messageId: old.messageId, emoji: '🎉' })).toMatchObject({ code: 'MESSAGE_DELETED' });
  });

  it('counts unread messages and mentions per member, moves markers forward only, and lists rooms newest activity first', async () => {
    const quiet = (await gql(stack.commandUrl, CREATE, { name: 'quiet' }, await users.token('fay'))).createRoom.roomId as string;
    const busy = await roomWith('fay', 'gus');
    await as('fay', SEND, { roomId: busy, body: 'hello @GUS and @nobody', key: 'b1' });
    await as('fay', SEND, { roomId: busy, body: 'are you there', key: 'b2' });
    const third = await as('fay', SEND, { roomId: busy, body: 'last one', key: 'b3' });
    expect(third.receipt).toMatchObject({ projected: true });

    const gusRooms = async () => (await gql(stack.queryUrl, MY_ROOMS, { first: 10 }, await users.token('gus'))).myRooms;
    expect((await gusRooms()).edges.map((e: any) => e.node)).toEqual([
      { id: busy, name: 'talk', unreadCount: 3, unreadMentions: 1, lastMessage: { body: 'last one' } },
    ]);
    // The sender has read what they sent.
    const fay = (await gql(stack.queryUrl, MY_ROOMS, { first: 1 }, await users.token('fay'))).myRooms;
    expect(fay.edges.map((e: any) => [e.node.id, e.node.unreadCount])).toEqual([[busy, 0]]); // newest activity first
    expect(fay.hasNextPage).toBe(true);
    const rest = (await gql(stack.queryUrl, MY_ROOMS, { first: 10, after: fay.endCursor }, await users.token('fay'))).myRooms;
    expect(rest.edges.map((e: any) => e.node.id)).toEqual([quiet]);

    expect(await as('gus', MARK_READ, { roomId: busy, upTo: roomCursor('message', busy, 1) })).toMatchObject({
      __typename: 'MessageAccepted',
    });
    await expect
      .poll(async () => (await gusRooms()).edges[0].node, { timeout: 10_000 })
      .toMatchObject({ unreadCount: 2, unreadMentions: 0 });
    // Backwards changes nothing; beyond the end stops at the end.
    await as('gus', MARK_READ, { roomId: busy, upTo: '0' });
    await as('gus', MARK_READ, { roomId: busy, upTo: roomCursor('message', busy, 999999) });
    await expect.poll(async () => (await gusRooms()).edges[0].node.unreadCount, { timeout: 10_000 }).toBe(0);
    const after = await as('fay', SEND, { roomId: busy, body: 'one more', key: 'b4' });
    expect(after.receipt).toMatchObject({ projected: true });
    expect((await gusRooms()).edges[0].node.unreadCount).toBe(1);
    expect(await as('hal', MARK_READ, { roomId: busy, upTo: roomCursor('message', busy, 1) })).toMatchObject({ code: 'NOT_A_MEMBER' });
  });

  it('finds messages by words in the rooms you belong to only, best match first, page by page', async () => {
    const mine = await roomWith('ida', 'jon');
    const theirs = await roomWith('kai');
    await as('ida', SEND, { roomId: mine, body: 'the blue whale is the largest animal', key: 's1' });
    await as('jon', SEND, { roomId: mine, body: 'whale whale whale', key: 's2' });
    await as('ida', SEND, { roomId: mine, body: 'nothing to see', key: 's3' });
    const hidden = await as('kai', SEND, { roomId: theirs, body: 'a secret whale', key: 's4' });
    expect(hidden.receipt).toMatchObject({ projected: true });

    const search = async (query: string, first = 10, afterCursor?: string) =>
      (await gql(stack.queryUrl, SEARCH, { query, first, after: afterCursor }, await users.token('jon'))).searchMessages;
    const page1 = await search('whale', 1);
    expect(page1.edges.map((e: any) => e.node.body)).toEqual(['whale whale whale']);
    expect(page1.hasNextPage).toBe(true);
    const page2 = await search('whale', 10, page1.endCursor);
    expect(page2.edges.map((e: any) => e.node.body)).toEqual(['the blue whale is the largest animal']);
    expect(page2.hasNextPage).toBe(false);
    expect((await search('"blue whale"')).edges.map((e: any) => e.node.body)).toEqual(['the blue whale is the largest animal']);
    expect((await search('whale -blue')).edges.map((e: any) => e.node.body)).toEqual(['whale whale whale']);
    expect((await search('secret')).edges).toEqual([]);
    await expect(search('   ')).rejects.toMatchObject({ codes: ['INVALID_INPUT'] });
  });
});
