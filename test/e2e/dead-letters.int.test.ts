import { spawn } from 'node:child_process';
import { Partitioners, type Kafka } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, quoteIdent, topicName, waitFor } from '@chat/platform';
import { ROOT, serviceEnv, startStack, type Stack } from '@chat/infra';
import { EventCodec, type DomainEvent } from '@chat/schemas';

// A record the projector cannot use is set aside (the dead_letters table and the dead-letter
// topic, with its source position and reason) while the rest of its partition goes on; after
// the fix, `./chat dead-letters retry` applies it. Here a member joins a room the read models do
// not know yet (the room's creation is written after it), next to a record that is not Avro at
// all: the join applies on retry, the garbage stays with its reason.

let stack: Stack;
let kafka: Kafka;
let db: pg.Client;
const ROOM = crypto.randomUUID();
const USER = crypto.randomUUID();
const JOINER = crypto.randomUUID();

beforeAll(async () => {
  stack = await startStack('dead-letters');
  kafka = createKafka(stack.config, 'test-dead-letters');
  db = new pg.Client({ connectionString: stack.config.databaseUrl, options: `-c search_path=${quoteIdent(stack.config.pgSchema)}` });
  await db.connect();
}, 180_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
});

function envelope(revision: number, roomId = ROOM) {
  return { eventId: crypto.randomUUID(), occurredAt: Date.now(), actorId: USER, commandId: null, roomId, revision };
}

/** Appends each value in turn, keyed by `roomId`; resolves with their offsets. */
async function produce(values: Buffer[], roomId = ROOM): Promise<string[]> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const offsets: string[] = [];
    for (const value of values) {
      const [meta] = await producer.send({ topic: topicName(stack.config.topicPrefix, 'roomEvents'), messages: [{ key: roomId, value }] });
      offsets.push(meta!.baseOffset!);
    }
    return offsets;
  } finally {
    await producer.disconnect();
  }
}

async function roomRevision(roomId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ revision: number }>('SELECT revision::int AS revision FROM rooms WHERE room_id = $1', [roomId]);
  return rows[0]?.revision;
}

/** Runs `./chat dead-letters …` against this test's stack; resolves with its exit code and output. */
function cli(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['projector/src/dead-letters.ts', ...args], { cwd: ROOT, env: serviceEnv(stack.config) });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

async function deadLetterTopic(count: number) {
  const consumer = kafka.consumer({ groupId: `test-dlq-${crypto.randomUUID()}` });
  await consumer.connect();
  const seen: { key: string | null; value: Buffer | null; headers: Record<string, string> }[] = [];
  try {
    await consumer.subscribe({ topic: topicName(stack.config.topicPrefix, 'deadLetters'), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        seen.push({ key: message.key?.toString() ?? null, value: message.value, headers });
      },
    });
    await waitFor('the dead-letter topic', async () => (seen.length >= count ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

describe('dead letters', () => {
  it('are set aside with their reason while the partition goes on, listed, and re-driven after the fix', async () => {
    const codec = new EventCodec(stack.config.schemaRegistryUrl, stack.config.topicPrefix);
    await codec.registerAll();
    const join: DomainEvent = { ...envelope(2), type: 'MemberJoined', userId: JOINER, role: 'MEMBER' };
    const created: DomainEvent = { ...envelope(1), type: 'RoomCreated', name: 'late', topic: null, visibility: 'PUBLIC', kind: 'GROUP' };
    const garbage = Buffer.from('not avro at all');
    const [joinAt, garbageAt, createdAt] = await produce([await codec.encode(join), garbage, await codec.encode(created)]);

    // The room's creation, after both, is projected: the partition went on.
    await waitFor(
      'the room to be projected',
      async () => ((await db.query('SELECT 1 FROM rooms WHERE room_id = $1', [ROOM])).rowCount ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    const topic = topicName(stack.config.topicPrefix, 'roomEvents');
    const { rows: letters } = await db.query<{ offset: string; error: string }>(
      'SELECT "offset"::text AS "offset", error FROM dead_letters ORDER BY "offset"',
    );
    expect(letters.map((l) => l.offset)).toEqual([joinAt, garbageAt]);
    expect(letters[0]!.error).toMatch(/^not applicable: .*foreign key/);
    expect(letters[1]!.error).toMatch(/Confluent-framed/);
    expect(createdAt).toBeDefined();

    // On the topic too: original bytes and key, source position and reason in headers.
    const published = await deadLetterTopic(2);
    const partition = published[0]!.headers['dlq-source-partition'];
    expect(published.map((p) => p.headers['dlq-source-offset'])).toEqual([joinAt, garbageAt]);
    expect(published[1]).toMatchObject({ key: ROOM, value: garbage, headers: { 'dlq-source-topic': topic } });
    expect(published[0]!.headers['dlq-reason']).toMatch(/foreign key/);

    const listed = await cli('list', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out).map((l: { offset: string }) => l.offset)).toEqual([joinAt, garbageAt]);

    // The fix is in (the room exists now): the join applies, the garbage stays, with its reason.
    const retried = await cli('retry', '--all', '--json');
    expect(retried.code).toBe(2);
    const report = JSON.parse(retried.out);
    expect(report.resolved).toEqual([{ topic, partition: Number(partition), offset: joinAt }]);
    expect(report.failed).toEqual([
      { topic, partition: Number(partition), offset: garbageAt, error: expect.stringMatching(/^undecodable/) },
    ]);
    const { rows: members } = await db.query('SELECT user_id, role FROM room_members WHERE room_id = $1', [ROOM]);
    expect(new Map(members.map((m) => [m.user_id, m.role]))).toEqual(
      new Map([
        [USER, 'OWNER'],
        [JOINER, 'MEMBER'],
      ]),
    );
    const { rows: events } = await db.query(
      'SELECT revision::int AS revision, type FROM room_events WHERE room_id = $1 ORDER BY revision',
      [ROOM],
    );
    expect(events).toEqual([
      { revision: 1, type: 'RoomCreated' },
      { revision: 2, type: 'MemberJoined' },
    ]);

    // Again: nothing is applied twice; only the garbage is tried.
    const again = await cli('retry', `${topic}:${partition}:${joinAt}`, '--json');
    expect(JSON.parse(again.out)).toEqual({ resolved: [], failed: [] });
    const left = await cli('list');
    expect(left.out).toContain(`${topic}:${partition}:${garbageAt}`);
    expect(left.out).not.toContain(`:${joinAt} `);
    expect(left.out).toMatch(/retries 1 +undecodable/);
  });

  it('re-drives a letter the room has since overridden into its history only: the later change wins', async () => {
    // A member joins (set aside: the room is not known yet), the room is created, the member
    // leaves. Re-driving the join after that must not make them a member again.
    const room = crypto.randomUUID();
    const codec = new EventCodec(stack.config.schemaRegistryUrl, stack.config.topicPrefix);
    await codec.registerAll();
    const join: DomainEvent = { ...envelope(2, room), type: 'MemberJoined', userId: JOINER, role: 'MEMBER' };
    const created: DomainEvent = {
      ...envelope(1, room),
      type: 'RoomCreated',
      name: 'later',
      topic: null,
      visibility: 'PUBLIC',
      kind: 'GROUP',
    };
    const left: DomainEvent = { ...envelope(3, room), type: 'MemberLeft', userId: JOINER };
    const [joinAt] = await produce([await codec.encode(join), await codec.encode(created), await codec.encode(left)], room);
    await waitFor('the leave to be projected', async () => ((await roomRevision(room)) === 3 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const topic = topicName(stack.config.topicPrefix, 'roomEvents');
    const { rows } = await db.query<{ partition: number }>('SELECT partition FROM dead_letters WHERE "offset" = $1 AND key = $2', [
      joinAt,
      room,
    ]);
    expect(rows).toHaveLength(1);

    const retried = await cli('retry', `${topic}:${rows[0]!.partition}:${joinAt}`, '--json');
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.out).resolved).toEqual([{ topic, partition: rows[0]!.partition, offset: joinAt }]);
    const { rows: members } = await db.query<{ user_id: string }>('SELECT user_id FROM room_members WHERE room_id = $1', [room]);
    expect(members.map((m) => m.user_id)).toEqual([USER]);
    // In the room's history in its place, and the room's revision stays where the log is.
    const { rows: events } = await db.query(
      'SELECT revision::int AS revision, type FROM room_events WHERE room_id = $1 ORDER BY revision',
      [room],
    );
    expect(events).toEqual([
      { revision: 1, type: 'RoomCreated' },
      { revision: 2, type: 'MemberJoined' },
      { revision: 3, type: 'MemberLeft' },
    ]);
    expect(await roomRevision(room)).toBe(3);
  });
});
