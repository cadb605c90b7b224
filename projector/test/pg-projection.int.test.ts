import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createPgPool, loadConfig, quoteIdent } from '@chat/platform';
import { PROJECTION_CHANNEL, type DomainEvent, type ProjectionProgress } from '@chat/schemas';
import { bindToCluster } from '../src/adapters/cluster-guard.ts';
import { migrate } from '../src/adapters/migrate.ts';
import { messageSent, roomCreated } from './room-events.ts';
import { applyRoomEvents, isDataError, projectBatch, projectBatches, type DecodedRecord } from '../src/adapters/pg-projection.ts';

// Exactly-once in effect, against the real Postgres: a batch delivered again, or overlapping
// one already applied, changes nothing it already changed; a record Postgres refuses is set
// aside without stalling the rest; an outage is thrown, never dead-lettered.

const schema = `t_projection_${Date.now().toString(36)}`;
const config = { ...loadConfig(), pgSchema: schema };
const ROOM = crypto.randomUUID();
let pool: pg.Pool;

const created = roomCreated(ROOM);
const message = (i: number, body?: string) => messageSent(ROOM, i, body);
const log: DecodedRecord[] = [created, message(1), message(2), message(3), message(4)].map((event, i) => ({ offset: String(i), event }));

beforeAll(async () => {
  // In pipeline mode, as the projector runs (the other projection tests use plain connections).
  pool = createPgPool(config, 2, { pipeline: true });
  await migrate(pool, schema);
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool.end();
});

async function project(records: DecodedRecord[]) {
  const client = await pool.connect();
  try {
    return await projectBatch(client, 'topic', 0, records);
  } finally {
    client.release();
  }
}

async function rows() {
  const { rows } = await pool.query<{ sequence: string; body: string }>('SELECT sequence, body FROM messages ORDER BY sequence');
  return rows.map((r) => [Number(r.sequence), r.body]);
}

describe('postgres projection', () => {
  it('applies a batch once; a redelivered or overlapping batch applies only what is new', async () => {
    expect(await project(log.slice(0, 3))).toMatchObject({ applied: 3, skipped: 0 });
    expect(await project(log.slice(0, 3))).toMatchObject({ applied: 0, skipped: 3 });
    expect(await project(log.slice(1, 5))).toMatchObject({ applied: 2, skipped: 2 });
    expect(await rows()).toEqual([
      [1, 'm1'],
      [2, 'm2'],
      [3, 'm3'],
      [4, 'm4'],
    ]);
    const { rows: checkpoint } = await pool.query('SELECT next_offset FROM projection_checkpoints');
    expect(checkpoint).toEqual([{ next_offset: '5' }]);
    const { rows: room } = await pool.query('SELECT last_sequence FROM rooms');
    expect(room).toEqual([{ last_sequence: '4' }]);
  });

  it('dead-letters a record that cannot be decoded and moves on', async () => {
    const poison: DecodedRecord = {
      offset: '5',
      poison: { error: 'not a Confluent-framed record', key: ROOM, value: Buffer.from('junk') },
    };
    const next: DecodedRecord = { offset: '6', event: message(5) };
    expect(await project([poison, next])).toMatchObject({ applied: 1, deadLettered: 1 });
    const { rows: dead } = await pool.query('SELECT "offset", error FROM dead_letters');
    expect(dead).toEqual([{ offset: '5', error: 'not a Confluent-framed record' }]);
    expect((await rows()).at(-1)).toEqual([5, 'm5']);
  });

  it('dead-letters an event Postgres refuses (a NUL in its body) and applies the rest of the batch', async () => {
    const refused: DecodedRecord = { offset: '8', event: message(7, 'a\u0000b'), key: ROOM, value: Buffer.from('raw bytes') };
    const batch: DecodedRecord[] = [{ offset: '7', event: message(6) }, refused, { offset: '9', event: message(8) }];
    // The event after the refused one follows a revision the read model never saw: a fault, reported.
    expect(await project(batch)).toMatchObject({ applied: 2, deadLettered: 1, faults: 1 });
    expect((await rows()).slice(-2)).toEqual([
      [6, 'm6'],
      [7, 'm8'],
    ]);
    const { rows: dead } = await pool.query<{ offset: string; error: string; key: string; value: Buffer }>(
      'SELECT "offset", error, key, value FROM dead_letters WHERE "offset" = 8',
    );
    expect(dead).toHaveLength(1);
    expect(dead[0]!.error).toMatch(/^not applicable: unsupported Unicode escape sequence/); // the NUL, refused by Postgres' json
    expect(dead[0]!).toMatchObject({ key: ROOM, value: Buffer.from('raw bytes') });
    const { rows: checkpoint } = await pool.query('SELECT next_offset FROM projection_checkpoints');
    expect(checkpoint).toEqual([{ next_offset: '10' }]);
    // Delivered again: nothing changes.
    expect(await project(batch)).toMatchObject({ applied: 0, skipped: 3, deadLettered: 0 });
    expect((await rows()).length).toBe(7);
  });

  it('records a revision gap and applies the event; skips the event of a revision already applied, delivered again', async () => {
    const gap = message(10); // revision 11 where 10 is next
    const replay = (log[4] as Extract<DecodedRecord, { event: unknown }>).event; // revision 5, long applied: the same event at a new offset (a log holding it twice)
    expect(
      await project([
        { offset: '10', event: gap },
        { offset: '11', event: replay },
      ]),
    ).toMatchObject({ applied: 2, faults: 2 });
    expect((await rows()).at(-1)).toEqual([8, 'm10']);
    expect((await rows()).length).toBe(8);
    const { rows: faults } = await pool.query('SELECT "offset", kind, detail FROM projection_faults ORDER BY "offset"');
    expect(faults).toEqual([
      { offset: '9', kind: 'revision-gap', detail: 'revision 9 after 7: applied' }, // from the dead letter above
      { offset: '10', kind: 'revision-gap', detail: 'revision 11 after 9: applied' },
      { offset: '11', kind: 'revision-replayed', detail: 'revision 5 after 11: skipped' },
    ]);
    const { rows: room } = await pool.query('SELECT revision FROM rooms');
    expect(room).toEqual([{ revision: '11' }]);
  });

  it('throws on an outage instead of dead-lettering: the caller waits it out', async () => {
    const client = new pg.Client({ connectionString: config.databaseUrl, options: `-c search_path=${quoteIdent(schema)}`, pipeline: true });
    client.on('error', () => undefined); // the termination below is the point
    await client.connect();
    await pool.query('SELECT pg_terminate_backend($1)', [(client as unknown as { processID: number }).processID]);
    const failure = await projectBatch(client as unknown as pg.PoolClient, 'topic', 0, [{ offset: '12', event: message(11) }]).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(isDataError(failure)).toBe(false);
    await client.end().catch(() => undefined);
    const { rows: dead } = await pool.query('SELECT count(*)::int AS n FROM dead_letters');
    expect(dead).toEqual([{ n: 2 }]);
    const { rows: checkpoint } = await pool.query('SELECT next_offset FROM projection_checkpoints');
    expect(checkpoint).toEqual([{ next_offset: '12' }]);
  });

  it('binds read models to the event log (cluster and topic ids) they are built from, and never empties them for another', async () => {
    expect(await bindToCluster(pool, 'cluster-a')).toEqual({ outcome: 'new' });
    expect(await bindToCluster(pool, 'cluster-a')).toEqual({ outcome: 'same' });
    const before = await rows();
    expect(before.length).toBeGreaterThan(0);
    // Perhaps the last copy of a lost log: kept, for an operator to decide (./chat rebuild --new-log).
    expect(await bindToCluster(pool, 'cluster-b')).toEqual({ outcome: 'other', builtFrom: 'cluster-a' });
    expect(await rows()).toEqual(before);
    expect(await bindToCluster(pool, 'cluster-a')).toEqual({ outcome: 'same' });
    // Bound before topic ids were recorded: the same cluster with its topics is the same log,
    // recorded whole from then on; the same cluster with a topic made again is another.
    expect(await bindToCluster(pool, 'cluster-a/room-events=T1')).toEqual({ outcome: 'same' });
    expect(await bindToCluster(pool, 'cluster-a/room-events=T2')).toEqual({ outcome: 'other', builtFrom: 'cluster-a/room-events=T1' });
    expect(await rows()).toEqual(before);
  });

  it("writes several partitions' batches in one transaction: every checkpoint, one notification, a refused record set aside in its own partition", async () => {
    const listener = new pg.Client({ connectionString: config.databaseUrl });
    await listener.connect();
    const heard: ProjectionProgress[][] = [];
    // NOTIFY is database-wide: other stacks projecting meanwhile (tests, benchmarks) are heard too.
    listener.on('notification', (n) => {
      const progress = JSON.parse(n.payload!) as ProjectionProgress[];
      if (progress.some((p) => p.topic === 'gathered')) heard.push(progress);
    });
    await listener.query(`LISTEN ${PROJECTION_CHANNEL}`);
    type RoomEvent = Extract<DomainEvent, { roomId: string }>;
    const room = (roomId: string, revision: number, body?: string): DomainEvent =>
      body === undefined
        ? { ...(created as RoomEvent), eventId: crypto.randomUUID(), roomId, revision }
        : { ...(message(revision - 1, body) as RoomEvent), roomId };
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const client = await pool.connect();
    try {
      const result = await projectBatches(
        client,
        [
          {
            topic: 'gathered',
            partition: 1,
            records: [room(a, 1), room(a, 2, 'a1'), room(a, 3, 'a\u0000')].map((event, i) => ({ offset: String(i), event })),
          },
          {
            topic: 'gathered',
            partition: 0,
            records: [room(b, 1), room(b, 2, 'b1')].map((event, i) => ({ offset: String(40 + i), event })),
          },
        ],
        () => applyRoomEvents,
      );
      expect(result).toMatchObject({ applied: 4, deadLettered: 1 });
    } finally {
      client.release();
    }
    const { rows: checkpoints } = await pool.query(
      "SELECT partition, next_offset FROM projection_checkpoints WHERE topic = 'gathered' ORDER BY partition",
    );
    expect(checkpoints).toEqual([
      { partition: 0, next_offset: '42' },
      { partition: 1, next_offset: '3' },
    ]);
    const { rows: dead } = await pool.query(`SELECT partition, "offset" FROM dead_letters WHERE topic = 'gathered'`);
    expect(dead).toEqual([{ partition: 1, offset: '2' }]);
    const { rows: bodies } = await pool.query('SELECT body FROM messages WHERE room_id = ANY($1::uuid[]) ORDER BY body', [[a, b]]);
    expect(bodies.map((r) => r.body)).toEqual(['a1', 'b1']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await listener.end();
    // Record by record after the refusal: still one transaction, so one notification for both partitions.
    expect(heard).toEqual([
      [
        { topic: 'gathered', partition: 0, nextOffset: '42' },
        { topic: 'gathered', partition: 1, nextOffset: '3' },
      ],
    ]);
  });

  it('stops a partition at a second event claiming a revision already applied, and only that partition', async () => {
    type RoomEvent = Extract<DomainEvent, { roomId: string }>;
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const of = (roomId: string, revision: number, body?: string): RoomEvent =>
      body === undefined
        ? { ...(created as RoomEvent), eventId: crypto.randomUUID(), roomId, revision }
        : { ...(message(revision - 1, body) as RoomEvent), roomId };
    const first = of(a, 2, 'first');
    const partitionA = [of(a, 1), first, of(a, 3, 'third')];
    // Another writer's event at revision 2 (two owners of one room), then more of both rooms.
    const rival = of(a, 2, 'rival');
    const later = [of(a, 4, 'after the rival')];
    const batches = (records: RoomEvent[], bRecords: RoomEvent[], from: number) => [
      { topic: 'conflict', partition: 0, records: records.map((event, i) => ({ offset: String(from + i), event })) },
      { topic: 'conflict', partition: 1, records: bRecords.map((event, i) => ({ offset: String(from + i), event })) },
    ];
    const run = async (input: ReturnType<typeof batches>) => {
      const client = await pool.connect();
      try {
        return await projectBatches(client, input, () => applyRoomEvents);
      } finally {
        client.release();
      }
    };
    expect(await run(batches(partitionA, [of(b, 1), of(b, 2, 'b1')], 0))).toMatchObject({ applied: 5, halted: [] });

    const result = await run(batches([first, rival, ...later], [of(b, 3, 'b2')], 3));
    // The same event again at offset 3 is a replay; the rival at offset 4 stops partition 0 there.
    expect(result.halted).toEqual([
      {
        topic: 'conflict',
        partition: 0,
        offset: '4',
        roomId: a,
        detail: `revision 2 holds event ${first.eventId}; event ${rival.eventId} claims it too`,
      },
    ]);
    const bodies = async (roomId: string) =>
      (await pool.query('SELECT body FROM messages WHERE room_id = $1 ORDER BY sequence', [roomId])).rows.map((r) => r.body);
    expect(await bodies(a)).toEqual(['first', 'third']);
    expect(await bodies(b)).toEqual(['b1', 'b2']);
    const { rows: checkpoints } = await pool.query(
      "SELECT partition, next_offset FROM projection_checkpoints WHERE topic = 'conflict' ORDER BY partition",
    );
    expect(checkpoints).toEqual([
      { partition: 0, next_offset: '4' },
      { partition: 1, next_offset: '4' },
    ]);
    const { rows: faults } = await pool.query(
      `SELECT partition, "offset", kind FROM projection_faults WHERE topic = 'conflict' ORDER BY "offset"`,
    );
    expect(faults).toEqual([
      { partition: 0, offset: '3', kind: 'revision-replayed' },
      { partition: 0, offset: '4', kind: 'revision-conflict' },
    ]);

    // Whoever projects the partition next stops at the same place, applying nothing.
    const again = await run([
      { topic: 'conflict', partition: 0, records: [rival, ...later].map((event, i) => ({ offset: String(4 + i), event })) },
    ]);
    expect(again).toMatchObject({ applied: 0, halted: [{ partition: 0, offset: '4' }] });
    expect(await bodies(a)).toEqual(['first', 'third']);
  });

  it('applies the first batch of a partition never projected before once, when two projectors are handed it at the same moment', async () => {
    const roomId = crypto.randomUUID();
    type RoomEvent = Extract<DomainEvent, { roomId: string }>;
    const batch: DecodedRecord[] = [
      { ...(created as RoomEvent), eventId: crypto.randomUUID(), roomId },
      { ...(message(1, 'first') as RoomEvent), roomId },
      { ...(message(2, 'second') as RoomEvent), roomId },
    ].map((event, i) => ({ offset: String(i), event }));
    const [one, two] = [await pool.connect(), await pool.connect()];
    try {
      const results = await Promise.all([one, two].map((client) => projectBatch(client, 'race', 0, batch)));
      expect(results.map((r) => r.applied).sort()).toEqual([0, 3]);
      expect(results.map((r) => r.skipped).sort()).toEqual([0, 3]);
      expect(results.every((r) => r.deadLettered === 0)).toBe(true);
    } finally {
      one.release();
      two.release();
    }
    const { rows } = await pool.query('SELECT body FROM messages WHERE room_id = $1 ORDER BY sequence', [roomId]);
    expect(rows.map((r) => r.body)).toEqual(['first', 'second']);
  });
});
