import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, listKeysUnder, quoteIdent, topicName, waitFor } from '@chat/platform';
import { EventCodec, type DomainEvent } from '@chat/schemas';
import { startStack, type Stack } from '@chat/infra';
import { TestUsers } from '../src/accounts.ts';
import { collect, gql, instanceFetch, wsClient } from '../src/graphql.ts';
import { rowsHolding as plaintextRows } from '../src/plaintext.ts';
import { runRebuild } from '../src/rebuild-cli.ts';
import { readRecord } from '../src/kafka.ts';
import { readRoomLog } from '../src/room-log.ts';

// Crypto-shredding against the real stack: message content enters the log sealed, so a strict
// decoder of the topic sees ciphertext and never text; deleting a message erases its keys in the
// transaction that empties its read-model rows, after which nothing in Postgres holds what it
// said, its files are removed from the object store, and its records in the log open as erased;
// a rebuild from the log then has parity. A room's retention passing (a clock the test moves)
// does the same for everything sent before its window.

let stack: Stack;
let endpoint: string;
let users: TestUsers;
let db: pg.Pool;

const ACCEPTED = `... on MessageAccepted { messageId receipt { position { partition offset } } } ... on CommandError { code message }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!, $files: [ID!]) {
  sendMessage(roomId: $roomId, body: $body, clientMessageId: $key, attachments: $files) { ${ACCEPTED} } }`;
const REQUEST_UPLOAD = `mutation($name: String!, $size: Int!) {
  requestUpload(name: $name, size: $size, contentType: "text/plain") { ... on UploadTicket { uploadId url contentType } } }`;
const EDIT = `mutation($roomId: ID!, $messageId: ID!, $body: String!) { editMessage(roomId: $roomId, messageId: $messageId, body: $body) { ${ACCEPTED} } }`;
const DELETE = `mutation($roomId: ID!, $messageId: ID!) { deleteMessage(roomId: $roomId, messageId: $messageId) { ${ACCEPTED} } }`;
const CREATE = `mutation { createRoom(name: "erasure") { ... on RoomAccepted { roomId } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
const ATTACHMENTS = `query($roomId: ID!) { messages(roomId: $roomId, first: 1) { edges { node { attachments { id name } } } } }`;
const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, last: 50) { edges { node { id body deleted editedAt } } } }`;
const RETENTION = `mutation($roomId: ID!, $days: Int) { setRoomRetention(roomId: $roomId, days: $days) { __typename ... on CommandError { code } } }`;
const ROOM = `query($roomId: ID!) { room(id: $roomId) { retentionDays } }`;
const ROOM_EVENTS = `subscription($roomId: ID!, $after: String) { roomEvents(roomId: $roomId, after: $after) {
  __typename ... on RoomHistoryExpiredEvent { before } } }`;

beforeAll(async () => {
  stack = await startStack('erasure');
  endpoint = stack.queryUrl;
  users = new TestUsers(stack.commandUrl);
  db = new pg.Pool({ connectionString: stack.config.databaseUrl, max: 2 });
});

afterAll(async () => {
  await db?.end();
  await stack?.stop();
});

interface Position {
  partition: number;
  offset: string;
}

async function command(
  user: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<{ messageId: string; position: Position }> {
  const data = await gql(endpoint, query, variables, await users.token(user));
  const result = Object.values(data)[0] as { messageId?: string; receipt?: { position: Position }; code?: string; message?: string };
  if (!result.receipt) throw new Error(`refused: ${result.code} ${result.message}`);
  return { messageId: result.messageId!, position: result.receipt.position };
}

async function history(user: string, roomId: string): Promise<{ id: string; body: string; deleted: boolean; editedAt: string | null }[]> {
  return (await gql(endpoint, HISTORY, { roomId }, await users.token(user))).messages.edges.map((e: { node: unknown }) => e.node);
}

const kafka = () => createKafka(stack.config, 'test-erasure-reader');
const roomTopic = () => topicName(stack.config.topicPrefix, 'roomEvents');

/** The record as any client of the topic reads it: its raw bytes, and the event as our schemas decode it without keys. */
async function recordAt({ partition, offset }: Position): Promise<{ raw: Buffer; event: DomainEvent }> {
  const message = await readRecord(kafka(), roomTopic(), partition, offset);
  const codec = new EventCodec(stack.config.schemaRegistryUrl, stack.config.topicPrefix);
  return { raw: message.value!, event: await codec.decode(message.value!) };
}

/** Uploads a file as a browser does (a presigned PUT); resolves with the upload id. */
async function upload(user: string, name: string, text: string): Promise<string> {
  const bytes = Buffer.from(text);
  const ticket = (await gql(endpoint, REQUEST_UPLOAD, { name, size: bytes.length }, await users.token(user))).requestUpload;
  const put = await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': ticket.contentType } });
  expect(put.status).toBe(200);
  return ticket.uploadId;
}

/** The object keys the store holds for an attachment (original and any other variant). */
const objectsOf = (attachmentId: string) =>
  listKeysUnder(stack.config.objectStore, `${stack.config.objectPrefix}attachments/${attachmentId}/`);

/** Every table of the stack's schemas holding `text`. */
const rowsHolding = (text: string) => plaintextRows(db, stack.config.pgSchema, text);

describe('erasure', () => {
  let roomId: string;
  const secret = `whispered ${crypto.randomUUID()}`;
  const edited = `corrected ${crypto.randomUUID()}`;
  const kept = `kept ${crypto.randomUUID()}`;
  const fileName = `plans-${crypto.randomUUID()}.txt`;
  let attachmentId: string;
  let sent: { messageId: string; position: Position };
  let edit: { messageId: string; position: Position };

  it('writes message content to the log sealed: ciphertext for any decoder, the text for members', async () => {
    roomId = (await gql(endpoint, CREATE, {}, await users.token('ada1'))).createRoom.roomId;
    await gql(endpoint, JOIN, { roomId }, await users.token('bob1'));
    const file = await upload('ada1', fileName, `the plans: ${secret}`);
    sent = await command('ada1', SEND, { roomId, body: secret, key: 'erase-1', files: [file] });
    edit = await command('ada1', EDIT, { roomId, messageId: sent.messageId, body: edited });
    await command('ada1', SEND, { roomId, body: kept, key: 'keep-1' });

    for (const [position, text] of [
      [sent.position, secret],
      [edit.position, edited],
    ] as const) {
      const { raw, event } = await recordAt(position);
      expect(raw.includes(Buffer.from(text))).toBe(false);
      expect(raw.includes(Buffer.from(text.split(' ')[1]!))).toBe(false);
      expect(raw.includes(Buffer.from(fileName))).toBe(false);
      expect(event).toMatchObject({ body: '', sealed: { dataKeyId: expect.any(String), shareId: expect.any(String) } });
      expect((event as { sealed: { ciphertext: Buffer } }).sealed.ciphertext.length).toBeGreaterThan(text.length);
    }
    await waitFor('the edit in history', async () => (await history('bob1', roomId)).some((m) => m.body === edited) || undefined, {
      timeoutMs: 10_000,
    });
    const messages = await history('bob1', roomId);
    expect(messages.map((m) => m.body)).toEqual([edited, kept]);
    attachmentId = (await gql(endpoint, ATTACHMENTS, { roomId }, await users.token('bob1'))).messages.edges[0].node.attachments[0].id;
    expect(await objectsOf(attachmentId)).not.toEqual([]);
  });

  it('deletes a message with its keys: nothing in Postgres holds what it said, and the log opens it as erased', async () => {
    expect(await rowsHolding(edited)).not.toEqual([]); // the check finds text where it is
    await command('ada1', DELETE, { roomId, messageId: sent.messageId });
    await waitFor('the deletion in history', async () => (await history('bob1', roomId))[0]?.deleted || undefined, { timeoutMs: 10_000 });

    expect(await rowsHolding(secret)).toEqual([]);
    expect(await rowsHolding(edited)).toEqual([]);
    expect(await rowsHolding(fileName)).toEqual([]);
    expect(await rowsHolding(kept)).not.toEqual([]);
    await waitFor('its file removed from the object store', async () => (await objectsOf(attachmentId)).length === 0 || undefined, {
      timeoutMs: 15_000,
    });

    const shares = [(await recordAt(sent.position)).event, (await recordAt(edit.position)).event].map(
      (event) => (event as { sealed: { shareId: string } }).sealed.shareId,
    );
    const { rows } = await db.query(
      `SELECT share IS NULL AS erased, erased_at IS NOT NULL AS stamped FROM ${quoteIdent(stack.config.pgSchema)}.content_shares WHERE share_id = ANY($1::uuid[])`,
      [shares],
    );
    expect(rows).toEqual([
      { erased: true, stamped: true },
      { erased: true, stamped: true },
    ]);
    // Read with the keys, as the projector reads it: the message and its edit open as erased, the other as sent.
    const logged = (await readRoomLog(stack.config)).filter((e) => e.event.roomId === roomId && 'body' in e.event);
    expect(logged.map((e) => [e.event.type, (e.event as { body: string }).body])).toEqual([
      ['MessageSent', ''],
      ['MessageEdited', ''],
      ['MessageSent', kept],
    ]);
    expect(logged[0]!.event).toMatchObject({ attachments: [] });
    expect((await history('bob1', roomId)).map((m) => ({ body: m.body, deleted: m.deleted }))).toEqual([
      { body: '', deleted: true },
      { body: kept, deleted: false },
    ]);
  });

  // A room keeping a day of history, and the clock moved two days on by the test (the sweep's
  // time comes with the request on the internal listener): everything sent today has expired.
  let retained: string;
  let other: string;
  const old = `old news ${crypto.randomUUID()}`;
  const oldReply = `old reply ${crypto.randomUUID()}`;
  const stays = `stays ${crypto.randomUUID()}`;
  const oldFile = `minutes-${crypto.randomUUID()}.txt`;

  it('lets owners alone set how long a room keeps its history', async () => {
    retained = (await gql(endpoint, CREATE, {}, await users.token('ada1'))).createRoom.roomId;
    other = (await gql(endpoint, CREATE, {}, await users.token('ada1'))).createRoom.roomId;
    await gql(endpoint, JOIN, { roomId: retained }, await users.token('bob1'));
    const byMember = await gql(endpoint, RETENTION, { roomId: retained, days: 1 }, await users.token('bob1'));
    expect(byMember.setRoomRetention).toMatchObject({ code: 'FORBIDDEN' });
    for (const days of [0, 3651]) {
      const invalid = await gql(endpoint, RETENTION, { roomId: retained, days }, await users.token('ada1'));
      expect(invalid.setRoomRetention).toMatchObject({ code: 'INVALID_INPUT' });
    }
    expect((await gql(endpoint, RETENTION, { roomId: retained, days: 1 }, await users.token('ada1'))).setRoomRetention).toMatchObject({
      __typename: 'RoomAccepted',
    });
    expect((await gql(endpoint, ROOM, { roomId: retained }, await users.token('bob1'))).room.retentionDays).toBe(1);
  });

  it('expires a room’s history past its retention: keys erased, tombstones live, files removed, other rooms kept', async () => {
    const file = await upload('ada1', oldFile, `the minutes: ${old}`);
    await command('ada1', SEND, { roomId: retained, body: old, key: 'old-1', files: [file] });
    await command('bob1', SEND, { roomId: retained, body: oldReply, key: 'old-2' });
    await command('ada1', SEND, { roomId: other, body: stays, key: 'stays-1' });
    const fileId = (await gql(endpoint, ATTACHMENTS, { roomId: retained }, await users.token('bob1'))).messages.edges[0].node.attachments[0]
      .id;
    expect(await rowsHolding(old)).not.toEqual([]);

    const client = wsClient(stack.queryWsUrl, await users.token('bob1'));
    try {
      const live = collect<{ roomEvents: { __typename: string; before?: string } }>(
        client,
        ROOM_EVENTS,
        { roomId: retained, after: '0' },
        100,
      );
      const twoDaysOn = Date.now() + 2 * 86_400_000;
      const response = await instanceFetch(`${stack.instance('command-service').internalUrl}/retention/sweep`, {
        method: 'POST',
        body: JSON.stringify({ now: twoDaysOn }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ rooms: 1, keys: 2 }); // ada's and bob's keys of today
      const expired = () => live.items.find((e) => e.roomEvents.__typename === 'RoomHistoryExpiredEvent');
      await waitFor('RoomHistoryExpired live', async () => expired(), { timeoutMs: 10_000 });
      expect(Date.parse(expired()!.roomEvents.before!)).toBe((Math.floor(twoDaysOn / 86_400_000) - 1) * 86_400_000);
      live.unsubscribe();
    } finally {
      await client.dispose();
    }

    expect((await history('bob1', retained)).map((m) => ({ body: m.body, deleted: m.deleted }))).toEqual([
      { body: '', deleted: true },
      { body: '', deleted: true },
    ]);
    expect((await history('ada1', other)).map((m) => m.body)).toEqual([stays]);
    for (const text of [old, oldReply, oldFile]) expect(await rowsHolding(text), text).toEqual([]);
    await waitFor('its file removed from the object store', async () => (await objectsOf(fileId)).length === 0 || undefined, {
      timeoutMs: 15_000,
    });
    const logged = (await readRoomLog(stack.config)).filter((e) => e.event.roomId === retained && e.event.type === 'MessageSent');
    expect(logged.map((e) => (e.event as { body: string }).body)).toEqual(['', '']);
    // A second sweep at the same time finds nothing more to do.
    const again = await instanceFetch(`${stack.instance('command-service').internalUrl}/retention/sweep`, {
      method: 'POST',
      body: JSON.stringify({ now: Date.now() + 2 * 86_400_000 }),
    });
    expect(await again.json()).toEqual({ rooms: 0, keys: 0 });
    // The sweep's route is for instances only.
    expect((await fetch(`${stack.instance('command-service').internalUrl}/retention/sweep`, { method: 'POST', body: '{}' })).status).toBe(
      401,
    );
  });

  it('rebuilds from the log after the erasure with parity: erased content stays erased', async () => {
    const before = [await history('bob1', roomId), await history('bob1', retained), await history('ada1', other)];
    const rebuilt = await rebuild();
    expect(rebuilt.code, rebuilt.out).toBe(0);
    expect(JSON.parse(rebuilt.out)).toMatchObject({ switched: true });
    expect([await history('bob1', roomId), await history('bob1', retained), await history('ada1', other)]).toEqual(before);
    for (const text of [secret, edited, old, oldReply, oldFile]) expect(await rowsHolding(text), text).toEqual([]);
  });
});

async function rebuild(): Promise<{ code: number | null; out: string }> {
  const { code, stdout, stderr } = await runRebuild(stack, ['--json']);
  return { code, out: code === 0 ? stdout : `${stdout}\n${stderr}` };
}
