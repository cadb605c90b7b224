import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createPgPool, loadConfig, quoteIdent } from '@chat/platform';
import type { DomainEvent } from '@chat/schemas';
import { migrate } from '../src/adapters/migrate.ts';
import { projectBatch, type DecodedRecord } from '../src/adapters/pg-projection.ts';

// Issue 18, against the real Postgres: events of one room never reach a message of another,
// whatever id they carry; and deleting a message deletes what it said from every read model
// (body, search, every edit's text, reactions, mentions), in the same transaction.

const schema = `t_by_room_${Date.now().toString(36)}`;
const config = { ...loadConfig(), pgSchema: schema };
const [ROOM_A, ROOM_M] = [crypto.randomUUID(), crypto.randomUUID()];
const [ALICE, MALLORY, BOB] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
let pool: pg.Pool;
let offset = 0;
const revisions = new Map<string, number>();

type Fields<T> = T extends unknown ? Omit<T, 'eventId' | 'occurredAt' | 'commandId' | 'revision'> : never;
/** An event of its room's next revision, as the room's writer would number it. */
function event(fields: Fields<DomainEvent> & { roomId: string }): DomainEvent {
  const revision = (revisions.get(fields.roomId) ?? 0) + 1;
  revisions.set(fields.roomId, revision);
  return { ...fields, eventId: crypto.randomUUID(), occurredAt: 1_000 + offset, commandId: crypto.randomUUID(), revision } as DomainEvent;
}

async function project(...events: DomainEvent[]) {
  const records: DecodedRecord[] = events.map((e) => ({ offset: String(offset++), event: e, key: null, value: Buffer.from('raw') }));
  const client = await pool.connect();
  try {
    return await projectBatch(client, 'topic', 0, records);
  } finally {
    client.release();
  }
}

const room = (roomId: string, actorId: string) =>
  event({ type: 'RoomCreated', roomId, actorId, name: 'r', topic: null, visibility: 'PRIVATE', kind: 'GROUP' });
const sent = (roomId: string, actorId: string, messageId: string, body: string) =>
  event({ type: 'MessageSent', roomId, actorId, messageId, body, replyTo: null, format: 'PLAIN', attachments: [] });

async function messageRow(messageId: string) {
  const { rows } = await pool.query(
    'SELECT room_id, sender_id, body, edited_at IS NOT NULL AS edited, deleted_at IS NOT NULL AS deleted FROM messages WHERE message_id = $1',
    [messageId],
  );
  return rows;
}
const count = async (sql: string, params: unknown[]) =>
  Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params)).rows[0]!.n);

beforeAll(async () => {
  pool = createPgPool(config, 2);
  await migrate(pool, schema);
  await pool.query(
    `INSERT INTO users (user_id, username, display_name, registered_at, updated_at) VALUES ($1, 'bobby', 'Bob', now(), now())`,
    [BOB],
  );
  await project(
    room(ROOM_A, ALICE),
    event({ type: 'MemberJoined', roomId: ROOM_A, actorId: BOB, userId: BOB, role: 'MEMBER' }),
    room(ROOM_M, MALLORY),
  );
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool.end();
});

describe('messages belong to their room', () => {
  it('lets no forged event of another room touch a message: not a second send under its id, nor an edit, a reaction or a delete', async () => {
    const X = crypto.randomUUID();
    await project(
      sent(ROOM_A, ALICE, X, 'private words'),
      event({ type: 'ReactionAdded', roomId: ROOM_A, actorId: BOB, messageId: X, emoji: '👍' }),
    );

    // Mallory's room: a send reusing the id (set aside), then an edit, a reaction, a removal and a delete naming it.
    const forged = await project(sent(ROOM_M, MALLORY, X, 'decoy'));
    expect(forged).toMatchObject({ applied: 0, deadLettered: 1 });
    const result = await project(
      event({ type: 'MessageEdited', roomId: ROOM_M, actorId: MALLORY, messageId: X, body: 'owned' }),
      event({ type: 'ReactionRemoved', roomId: ROOM_M, actorId: BOB, messageId: X, emoji: '👍' }),
      event({ type: 'MessageDeleted', roomId: ROOM_M, actorId: MALLORY, messageId: X }),
    );
    expect(result.deadLettered).toBe(0);
    expect(await messageRow(X)).toEqual([{ room_id: ROOM_A, sender_id: ALICE, body: 'private words', edited: false, deleted: false }]);
    expect(await count('message_reactions WHERE room_id = $1 AND message_id = $2', [ROOM_A, X])).toBe(1);
    expect(await count('message_edits WHERE message_id = $1', [X])).toBe(0);
    // A reaction added in the wrong room names a message that room does not have: set aside.
    expect(await project(event({ type: 'ReactionAdded', roomId: ROOM_M, actorId: MALLORY, messageId: X, emoji: '🎉' }))).toMatchObject({
      deadLettered: 1,
    });
    expect(await count('message_reactions WHERE message_id = $1', [X])).toBe(1);
  });
});

describe('deleting a message', () => {
  const search = (word: string) => count(`messages WHERE to_tsvector('simple', body) @@ to_tsquery('simple', $1)`, [word]);
  const editedBodies = async (messageId: string) =>
    (
      await pool.query<{ body: string | null }>(
        `SELECT e.data ->> 'body' AS body FROM room_events e WHERE e.type = 'MessageEdited' AND e.data ->> 'messageId' = $1::text AND e.data ? 'body'
          UNION ALL SELECT body FROM message_edits WHERE message_id = $1::uuid`,
        [messageId],
      )
    ).rows.map((r) => r.body);

  it('keeps every edit’s text apart from room_events while the message stands, and purges all of it with the message', async () => {
    const X = crypto.randomUUID();
    await project(sent(ROOM_A, ALICE, X, 'first draft @bobby'));
    await project(event({ type: 'MessageEdited', roomId: ROOM_A, actorId: ALICE, messageId: X, body: 'second draft' }));
    await project(
      event({ type: 'MessageEdited', roomId: ROOM_A, actorId: ALICE, messageId: X, body: 'third draft' }),
      event({ type: 'ReactionAdded', roomId: ROOM_A, actorId: BOB, messageId: X, emoji: '👍' }),
    );
    expect(await editedBodies(X)).toEqual(['second draft', 'third draft']); // only in message_edits: room_events holds no text
    expect(await count('message_mentions WHERE message_id = $1', [X])).toBe(1);
    expect(await search('third')).toBe(1);

    await project(event({ type: 'MessageDeleted', roomId: ROOM_A, actorId: ALICE, messageId: X }));
    expect(await messageRow(X)).toEqual([{ room_id: ROOM_A, sender_id: ALICE, body: '', edited: true, deleted: true }]);
    expect(await editedBodies(X)).toEqual([]);
    expect(await search('third')).toBe(0);
    expect(
      (await count('message_reactions WHERE message_id = $1', [X])) + (await count('message_mentions WHERE message_id = $1', [X])),
    ).toBe(0);
    const { rows } = await pool.query(`SELECT data FROM room_events WHERE type = 'MessageSent' AND data ->> 'messageId' = $1`, [X]);
    expect(rows).toEqual([{ data: { messageId: X, replyTo: null, format: 'PLAIN' } }]); // its mentions went with it
  });

  it('purges an edit made in the same batch as the delete', async () => {
    const X = crypto.randomUUID();
    await project(
      sent(ROOM_A, ALICE, X, 'oops'),
      event({ type: 'MessageEdited', roomId: ROOM_A, actorId: ALICE, messageId: X, body: 'oops again' }),
      event({ type: 'MessageDeleted', roomId: ROOM_A, actorId: ALICE, messageId: X }),
    );
    expect(await messageRow(X)).toMatchObject([{ body: '', deleted: true }]);
    expect(await editedBodies(X)).toEqual([]);
  });
});
