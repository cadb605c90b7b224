import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createPgPool, loadConfig, quoteIdent, waitFor } from '@chat/platform';
import { migrate } from '../src/adapters/migrate.ts';
import { projectBatch, type DecodedRecord } from '../src/adapters/pg-projection.ts';
import { messageSent, roomCreated } from './room-events.ts';

// Two projectors handed the same never-projected partition at once (a rebalance: the old
// member still finishing its batch while the new one starts), against the real Postgres. With
// no checkpoint row yet there was nothing to lock: both planned the same events against rooms
// neither could see yet. The first batch must be serialised like any other: one applies it,
// the other waits for that commit and skips every record. A third connection holds the rooms
// table so that both transactions are in flight together, whatever the timing. (Without the
// checkpoint row made first, the outcome here is still right, one step later: the second's
// insert of the same room fails, and its retry record by record finds the checkpoint moved.)

const schema = `t_first_batch_${Date.now().toString(36)}`;
const config = { ...loadConfig(), pgSchema: schema };
const ROOM = crypto.randomUUID();
let pool: pg.Pool;

const events = [roomCreated(ROOM), ...[1, 2, 3].map((i) => messageSent(ROOM, i))];
const batch: DecodedRecord[] = events.map((event, i) => ({ offset: String(i), event }));

beforeAll(async () => {
  pool = createPgPool(config, 4, { pipeline: true });
  await migrate(pool, schema);
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool.end();
});

/** A projector's transaction on a connection of its own; resolves with its backend's pid and its result. */
async function projector(): Promise<{ pid: number; result: Promise<Awaited<ReturnType<typeof projectBatch>>> }> {
  const client = await pool.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const result = projectBatch(client, 'room-events', 0, batch).finally(() => client.release());
  return { pid: rows[0]!.pid, result };
}

const waiting = async (pid: number) =>
  (await pool.query<{ n: number }>('SELECT cardinality(pg_blocking_pids($1)) AS n', [pid])).rows[0]!.n > 0;

describe('the first batch of a never-projected partition', () => {
  it('is applied by one of two projectors handed it at once; the other skips it all', async () => {
    const holder = await pool.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE rooms IN EXCLUSIVE MODE');
    const first = await projector();
    await waitFor('the first projector to wait', () => waiting(first.pid), { timeoutMs: 10_000, intervalMs: 20 });
    const second = await projector();
    await waitFor('the second projector to wait', () => waiting(second.pid), { timeoutMs: 10_000, intervalMs: 20 });
    await holder.query('COMMIT');
    holder.release();

    const results = await Promise.all([first.result, second.result]);
    expect(results.map((r) => [r.applied, r.skipped, r.deadLettered, r.faults]).sort()).toEqual([
      [0, 4, 0, 0],
      [4, 0, 0, 0],
    ]);
    const { rows: messages } = await pool.query('SELECT sequence, body FROM messages ORDER BY sequence');
    expect(messages).toEqual([
      { sequence: '1', body: 'm1' },
      { sequence: '2', body: 'm2' },
      { sequence: '3', body: 'm3' },
    ]);
    const { rows: room } = await pool.query('SELECT last_sequence, revision FROM rooms');
    expect(room).toEqual([{ last_sequence: '3', revision: '4' }]);
    const { rows: checkpoint } = await pool.query('SELECT next_offset FROM projection_checkpoints');
    expect(checkpoint).toEqual([{ next_offset: '4' }]);
    expect((await pool.query('SELECT count(*)::int AS n FROM dead_letters')).rows).toEqual([{ n: 0 }]);
  });
});
