import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, listKeysUnder, quoteIdent, topicName, waitFor } from '@chat/platform';
import { EventCodec, exportKeys, type DomainEvent } from '@chat/schemas';
import { startStack, type Stack } from '@chat/infra';
import { LOG_IN, TEST_PASSWORD, TestUsers } from '../src/accounts.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';
import { rowsHolding as plaintextRows } from '../src/plaintext.ts';
import { runRebuild } from '../src/rebuild-cli.ts';
import { readLog, readRoomLog } from '../src/room-log.ts';

// Deleting an account against the real stack: after a re-authentication, its keys are erased
// (its messages and profile read as erased in the log, for every reader), each room it was in
// or wrote in gets a MemberErased event (live, for the members following it), its messages are
// tombstones, its reactions gone, its profile, sessions and name gone; nothing in Postgres holds
// what it wrote or who it was; a rebuild from the log afterwards has parity. Before, she exports
// what the platform holds about her.

let stack: Stack;
let endpoint: string;
let users: TestUsers;
let db: pg.Pool;

const CREATE = `mutation($name: String!) { createRoom(name: $name) { ... on RoomAccepted { roomId } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) {
  ... on MessageAccepted { messageId } ... on CommandError { code message } } }`;
const REACT = `mutation($roomId: ID!, $messageId: ID!) { addReaction(roomId: $roomId, messageId: $messageId, emoji: "🎉") { __typename } }`;
const PROFILE = `mutation($displayName: String, $bio: String) { updateProfile(displayName: $displayName, bio: $bio) { __typename } }`;
const DELETE_ACCOUNT = `mutation($password: String) { deleteAccount(password: $password) {
  __typename ... on DeletedAccount { userId rooms } ... on CommandError { code message } } }`;
const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, last: 50) { edges { node {
  id body deleted senderId sender { displayName username deleted } reactions { emoji count } } } } }`;
const MEMBERS = `query($roomId: ID!) { room(id: $roomId) { members(first: 50) { edges { node { userId role } } } } }`;
const USER = `query($id: ID!) { user(id: $id) { id username displayName bio deleted } }`;
const SEARCH = `query($search: String!) { users(search: $search) { id } }`;
const EXPORT_FIELDS = `id status done total url`;
const EXPORT = `mutation { exportMyData { ${EXPORT_FIELDS} } }`;
const MY_EXPORT = `query { myDataExport { ${EXPORT_FIELDS} } }`;
const ROOM_EVENTS = `subscription($roomId: ID!, $after: String) { roomEvents(roomId: $roomId, after: $after) {
  __typename ... on MemberErasedEvent { userId } ... on MessageSentEvent { revision } } }`;

beforeAll(async () => {
  stack = await startStack('account-deletion');
  endpoint = stack.queryUrl;
  users = new TestUsers(stack.commandUrl);
  db = new pg.Pool({ connectionString: stack.config.databaseUrl, max: 2 });
});

afterAll(async () => {
  await db?.end();
  await stack?.stop();
});

async function as(user: string, query: string, variables: Record<string, unknown> = {}) {
  return gql(endpoint, query, variables, await users.token(user));
}

async function send(user: string, roomId: string, body: string): Promise<string> {
  const { sendMessage } = await as(user, SEND, { roomId, body, key: crypto.randomUUID() });
  if (!sendMessage.messageId) throw new Error(`refused: ${sendMessage.code} ${sendMessage.message}`);
  return sendMessage.messageId;
}

type Row = {
  id: string;
  body: string;
  deleted: boolean;
  senderId: string;
  sender: { displayName: string; username: string; deleted: boolean };
};
async function history(user: string, roomId: string): Promise<Row[]> {
  return (await as(user, HISTORY, { roomId })).messages.edges.map((e: { node: Row }) => e.node);
}

async function members(user: string, roomId: string): Promise<{ userId: string; role: string }[]> {
  return (await as(user, MEMBERS, { roomId })).room.members.edges.map((e: { node: unknown }) => e.node);
}

/** Every table of the stack's schemas holding `text`. */
const rowsHolding = (text: string) => plaintextRows(db, stack.config.pgSchema, text);

/** Dora's data export archives in the object store. */
const archivesOfDora = async () =>
  listKeysUnder(stack.config.objectStore, exportKeys.archivesOf(stack.config.objectPrefix, await users.id('dora')));

/** The raw records of the user topic: what a strict decoder in another language reads. */
async function rawUserRecords(): Promise<Buffer[]> {
  const kafka = createKafka(stack.config, 'test-user-topic');
  const topic = topicName(stack.config.topicPrefix, 'userEvents');
  const consumer = kafka.consumer({ groupId: `test-user-topic-${crypto.randomUUID()}` });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((n, p) => n + Number(p.high), 0);
  const values: Buffer[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = Promise.withResolvers<void>();
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) values.push(message.value);
      if (values.length >= total) done.resolve();
    },
  });
  await done.promise;
  await consumer.disconnect();
  return values;
}

describe('deleting an account', () => {
  const secret = `my diary ${crypto.randomUUID()}`;
  const other = `another secret ${crypto.randomUUID()}`;
  const shownName = `Dora ${crypto.randomUUID().slice(0, 8)}`;
  const bio = `lives at ${crypto.randomUUID()}`;
  const kept = `kept ${crypto.randomUUID()}`;
  let doraId: string;
  let username: string;
  let shared: string; // eve's room, dora a member
  let owned: string; // dora's room, eve a member
  let doraMessage: string;

  it('seals profiles in the user topic: no decoder of the topic reads a name or a bio', async () => {
    const dora = await users.get('dora');
    doraId = dora.userId;
    username = dora.username;
    expect((await as('dora', PROFILE, { displayName: shownName, bio })).updateProfile.__typename).toBe('Profile');
    shared = (await as('eve', CREATE, { name: 'shared' })).createRoom.roomId;
    owned = (await as('dora', CREATE, { name: 'owned' })).createRoom.roomId;
    await as('dora', JOIN, { roomId: shared });
    await as('eve', JOIN, { roomId: owned });
    doraMessage = await send('dora', shared, secret);
    const eveMessage = await send('eve', shared, `${kept} @${username}`);
    await send('dora', owned, other);
    await as('eve', REACT, { roomId: shared, messageId: doraMessage });
    await as('dora', REACT, { roomId: shared, messageId: eveMessage });
    await waitFor('the profile projected', async () => (await as('eve', USER, { id: doraId })).user?.bio === bio || undefined, {
      timeoutMs: 10_000,
    });

    const raw = await rawUserRecords();
    expect(raw.length).toBeGreaterThanOrEqual(3); // two users' registrations, a profile change
    for (const value of raw) {
      for (const text of [username, shownName, bio]) expect(value.includes(Buffer.from(text))).toBe(false);
    }
    const codec = new EventCodec(stack.config.schemaRegistryUrl, stack.config.topicPrefix);
    const decoded = await Promise.all(raw.map((value) => codec.decode(value)));
    const doras = decoded.filter((e): e is Extract<DomainEvent, { userId: string }> => 'userId' in e && e.userId === doraId);
    expect(doras.map((e) => [e.type, 'sealed' in e && !!e.sealed])).toEqual([
      ['UserRegistered', true],
      ['ProfileUpdated', true],
    ]);
    expect(await rowsHolding(secret)).not.toEqual([]); // the check finds text where it is
  });

  it('exports her data first, as a job with progress: profile, rooms, messages with rooms and times, reactions', async () => {
    const started = (await as('dora', EXPORT)).exportMyData;
    expect(started).toMatchObject({ id: expect.any(String), status: expect.stringMatching(/RUNNING|READY/) });
    const ready = await waitFor(
      'the export ready',
      async () => {
        const job = (await as('dora', MY_EXPORT)).myDataExport;
        return job?.status === 'READY' ? job : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(ready).toMatchObject({ id: started.id, url: `/exports/${started.id}` });
    expect(ready.done).toBe(ready.total);
    // Asked again within the hour: the same export.
    expect((await as('dora', EXPORT)).exportMyData.id).toBe(started.id);

    const origin = new URL(endpoint).origin;
    const download = await fetch(origin + ready.url, { headers: { authorization: `Bearer ${await users.token('dora')}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/attachment/);
    const archive = JSON.parse(gunzipSync(Buffer.from(await download.arrayBuffer())).toString('utf8'));
    expect(archive.profile).toMatchObject({ userId: doraId, username, displayName: shownName, bio });
    expect(archive.memberships.map((m: { roomId: string }) => m.roomId).sort()).toEqual([shared, owned].sort());
    expect(archive.messages.map((m: { body: string; roomId: string }) => [m.roomId, m.body]).sort()).toEqual(
      [
        [shared, secret],
        [owned, other],
      ].sort(),
    );
    expect(archive.messages[0]).toMatchObject({ roomName: expect.any(String), sentAt: expect.any(String), messageId: expect.any(String) });
    expect(archive.reactions).toEqual([expect.objectContaining({ emoji: '🎉', roomId: shared })]);
    // Only hers: anyone else, or no token, gets nothing.
    const byEve = await fetch(origin + ready.url, { headers: { authorization: `Bearer ${await users.token('eve')}` } });
    expect(byEve.status).toBe(404);
    expect((await fetch(origin + ready.url)).status).toBe(401);
    expect(await archivesOfDora()).toHaveLength(1);
  });

  it('asks for the password again, and a wrong or missing one changes nothing', async () => {
    for (const password of ['not my password', null]) {
      const answer = (await as('dora', DELETE_ACCOUNT, { password })).deleteAccount;
      expect(answer).toMatchObject({ __typename: 'CommandError', code: 'INVALID_CREDENTIALS' });
    }
    expect((await history('eve', shared)).find((m) => m.id === doraMessage)).toMatchObject({ body: secret, deleted: false });
    expect((await as('eve', USER, { id: doraId })).user).toMatchObject({ deleted: false, bio });
  });

  it('deletes it: members see it live, its messages are tombstones, its name, profile and sessions are gone', async () => {
    // Eve follows the room from its start: what she is sent is every event in order, then live.
    const client = wsClient(stack.queryWsUrl, await users.token('eve'));
    try {
      const live = collect<{ roomEvents: { __typename: string; userId?: string } }>(
        client,
        ROOM_EVENTS,
        {
          roomId: shared,
          after: '0',
        },
        100,
      );
      const answer = (await as('dora', DELETE_ACCOUNT, { password: TEST_PASSWORD })).deleteAccount;
      expect(answer).toEqual({ __typename: 'DeletedAccount', userId: doraId, rooms: 2 });
      const erased = () => live.items.find((e) => e.roomEvents.__typename === 'MemberErasedEvent');
      await waitFor('MemberErased live', async () => erased(), { timeoutMs: 10_000 });
      expect(erased()!.roomEvents).toEqual({ __typename: 'MemberErasedEvent', userId: doraId });
      live.unsubscribe();
    } finally {
      await client.dispose();
    }

    // AccountDeleted is appended last, and projected a moment after the answer.
    await waitFor('the account deleted in the read model', async () => (await as('eve', USER, { id: doraId })).user?.deleted || undefined, {
      timeoutMs: 10_000,
    });
    // Her session ended everywhere, and she cannot log in again.
    const refused = await gql(endpoint, USER, { id: doraId }, await users.token('dora')).catch(
      (error: { codes?: string[] }) => error.codes,
    );
    expect(refused).toEqual(['UNAUTHENTICATED']);
    expect((await gql(stack.commandUrl, LOG_IN, { username, password: TEST_PASSWORD })).logIn).toMatchObject({
      code: 'INVALID_CREDENTIALS',
    });

    const messages = await history('eve', shared);
    const hers = messages.find((m) => m.id === doraMessage)!;
    expect(hers).toMatchObject({
      body: '',
      deleted: true,
      senderId: doraId,
      sender: { displayName: 'Deleted user', username: '', deleted: true },
    });
    expect(messages.find((m) => m.body.startsWith(kept))).toMatchObject({ deleted: false, reactions: [] }); // her reaction went
    expect((await history('eve', owned)).map((m) => m.deleted)).toEqual([true]);
    expect(await members('eve', shared)).not.toContainEqual(expect.objectContaining({ userId: doraId }));
    // Her room keeps an owner: the member who remains.
    expect(await members('eve', owned)).toEqual([{ userId: await users.id('eve'), role: 'OWNER' }]);
    expect((await as('eve', USER, { id: doraId })).user).toEqual({
      id: doraId,
      username: '',
      displayName: 'Deleted user',
      bio: null,
      deleted: true,
    });
    expect((await as('eve', SEARCH, { search: shownName.slice(0, 6) })).users).toEqual([]);

    for (const text of [secret, other, shownName, bio]) expect(await rowsHolding(text), text).toEqual([]);
    expect(await rowsHolding(kept)).not.toEqual([]);
    expect(await archivesOfDora()).toEqual([]); // her export went with her
    // Her name: nowhere but in the text of Eve's message that mentions it (Eve's words, not hers).
    expect((await rowsHolding(username)).every((table) => /messages$/.test(table))).toBe(true);
    const { rows } = await db.query(
      `SELECT count(*) FILTER (WHERE wrapped IS NULL)::int AS erased, count(*)::int AS keys FROM ${quoteIdent(stack.config.pgSchema)}.content_data_keys WHERE user_id = $1`,
      [doraId],
    );
    expect(rows[0].keys).toBeGreaterThanOrEqual(3); // her profile, and a day in each room
    expect(rows[0].erased).toBe(rows[0].keys);
  });

  it('leaves the log unreadable for what she wrote and who she was, for any reader with the keys', async () => {
    const roomLog = (await readRoomLog(stack.config)).filter((e) => e.event.roomId === shared || e.event.roomId === owned);
    const sent = roomLog.filter((e) => e.event.type === 'MessageSent' && e.event.actorId === doraId);
    expect(sent.map((e) => (e.event as { body: string }).body)).toEqual(['', '']);
    expect(
      roomLog
        .filter((e) => e.event.type === 'MemberErased')
        .map((e) => e.event.roomId)
        .sort(),
    ).toEqual([shared, owned].sort());
    const userLog = (await readLog(stack.config, 'userEvents')).filter((e) => 'userId' in e.event && e.event.userId === doraId);
    expect(userLog.map((e) => e.event)).toMatchObject([
      { type: 'UserRegistered', username: '', displayName: '' },
      { type: 'ProfileUpdated', displayName: '', bio: null },
      { type: 'AccountDeleted', userId: doraId },
    ]);
  });

  it('rebuilds from the log after the deletion with parity', async () => {
    const before = [await history('eve', shared), await history('eve', owned), (await as('eve', USER, { id: doraId })).user];
    const { code, stdout, stderr } = await runRebuild(stack, ['--json']);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ switched: true });
    expect([await history('eve', shared), await history('eve', owned), (await as('eve', USER, { id: doraId })).user]).toEqual(before);
    for (const text of [secret, other, shownName, bio]) expect(await rowsHolding(text), text).toEqual([]);
  });
});
