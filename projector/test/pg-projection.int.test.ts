import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createLogger, createPgPool, loadConfig, quoteIdent } from '@chat/platform';
import type { DomainEvent } from '@chat/schemas';
import { bindToCluster } from '../src/adapters/cluster-guard.ts';
import { migrate } from '../src/adapters/migrate.ts';
import { projectBatch, type DecodedRecord } from '../src/adapters/pg-projection.ts';

// Exactly-once in effect, against the real Postgres: a batch delivered again, or overlapping
// one already applied, changes nothing it already changed.

const schema = `t_projection_${Date.now().toString(36)}`;
const config = { ...loadConfig(), pgSchema: schema };
const ROOM = crypto.randomUUID();
let pool: pg.Pool;

const created: DomainEvent = {
  type: 'RoomCreated',
  eventId: crypto.randomUUID(),
  occurredAt: 1,
  actorId: 'a',
  commandId: null,
  roomId: ROOM,
  name: 'r',
};
const message = (i: number): DomainEvent => ({
  type: 'MessageSent',
  eventId: crypto.randomUUID(),
  occurredAt: 1000 + i,
  actorId: 'a',
  commandId: `c${i}`,
  roomId: ROOM,
  messageId: crypto.randomUUID(),
  body: `m${i}`,
});
const log: DecodedRecord[] = [created, message(1), message(2), message(3), message(4)].map((event, i) => ({ offset: String(i), event }));

beforeAll(async () => {
  pool = createPgPool(config, 2);
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

  it('rolls back everything, checkpoint included, when a batch fails', async () => {
    const before = await rows();
    // The same message id twice breaks a unique constraint mid-batch.
    const clash = message(6);
    const records: DecodedRecord[] = [
      { offset: '7', event: clash },
      { offset: '8', event: { ...clash, commandId: 'other', eventId: crypto.randomUUID() } },
    ];
    await expect(project(records)).rejects.toThrow();
    expect(await rows()).toEqual(before);
    const { rows: checkpoint } = await pool.query('SELECT next_offset FROM projection_checkpoints');
    expect(checkpoint).toEqual([{ next_offset: '7' }]);
  });

  it('empties the read models when they were built from another Kafka cluster', async () => {
    const log = createLogger('test', 'error');
    expect(await bindToCluster(pool, schema, 'cluster-a', log)).toBe('new');
    expect(await bindToCluster(pool, schema, 'cluster-a', log)).toBe('same');
    expect((await rows()).length).toBeGreaterThan(0);
    expect(await bindToCluster(pool, schema, 'cluster-b', log)).toBe('reset');
    expect(await rows()).toEqual([]);
    const { rows: checkpoints } = await pool.query('SELECT * FROM projection_checkpoints');
    expect(checkpoints).toEqual([]);
    const { rows: applied } = await pool.query('SELECT name FROM schema_migrations ORDER BY name');
    expect(applied.map((r) => r.name)).toEqual(['001_read_models.sql', '002_projection_meta.sql']);
  });
});
