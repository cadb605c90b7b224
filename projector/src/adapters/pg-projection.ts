import type pg from 'pg';
import { PROJECTION_CHANNEL, type DomainEvent, type LiveNotification, type ProjectionProgress } from '@chat/schemas';
import { messageKey, planBatch, type BatchPlan } from '../domain/plan.ts';

// Writes one Kafka batch of one partition to Postgres in one transaction: the rows, the
// partition checkpoint, and a NOTIFY that wakes command services waiting to read their
// writes. Offsets below the checkpoint were applied before and are skipped, which makes
// redelivery after a crash or rebalance change nothing.

export type DecodedRecord =
  { offset: string; event: DomainEvent } | { offset: string; poison: { error: string; key: string | null; value: Buffer | null } };

export interface BatchResult {
  applied: number;
  skipped: number;
  deadLettered: number;
  notifications: LiveNotification[];
}

export async function projectBatch(
  client: pg.PoolClient,
  topic: string,
  partition: number,
  records: readonly DecodedRecord[],
): Promise<BatchResult> {
  const last = records.at(-1);
  if (!last) return { applied: 0, skipped: 0, deadLettered: 0, notifications: [] };
  await client.query('BEGIN');
  try {
    const checkpoint = await client.query<{ next_offset: string }>(
      'SELECT next_offset FROM projection_checkpoints WHERE topic = $1 AND partition = $2 FOR UPDATE',
      [topic, partition],
    );
    const next = BigInt(checkpoint.rows[0]?.next_offset ?? '0');
    const fresh = records.filter((r) => BigInt(r.offset) >= next);
    const events = fresh.flatMap((r) => ('event' in r ? [r.event] : []));
    const poison = fresh.flatMap((r) => ('poison' in r ? [{ offset: r.offset, ...r.poison }] : []));

    const plan = planBatch(events, await loadKnownState(client, events));
    await writePlan(client, plan);
    for (const p of poison) {
      await client.query(
        'INSERT INTO dead_letters (topic, partition, "offset", error, key, value) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING',
        [topic, partition, p.offset, p.error, p.key, p.value],
      );
    }
    const nextOffset = String(BigInt(last.offset) + 1n);
    await client.query(
      `INSERT INTO projection_checkpoints (topic, partition, next_offset) VALUES ($1, $2, $3)
       ON CONFLICT (topic, partition) DO UPDATE SET next_offset = GREATEST(projection_checkpoints.next_offset, excluded.next_offset), updated_at = now()`,
      [topic, partition, nextOffset],
    );
    await client.query('SELECT pg_notify($1, $2)', [
      PROJECTION_CHANNEL,
      JSON.stringify({ topic, partition, nextOffset } satisfies ProjectionProgress),
    ]);
    await client.query('COMMIT');
    return {
      applied: events.length,
      skipped: records.length - fresh.length,
      deadLettered: poison.length,
      notifications: plan.notifications,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function loadKnownState(client: pg.PoolClient, events: DomainEvent[]) {
  const messages = events.flatMap((e) => (e.type === 'MessageSent' ? [e] : []));
  if (messages.length === 0) return { lastSequence: new Map<string, number>(), storedMessages: new Set<string>() };
  const roomIds = [...new Set(messages.map((m) => m.roomId))];
  // FOR UPDATE: a second projector handed the same partition during a rebalance waits here
  // instead of handing out the same sequences.
  const rooms = await client.query<{ room_id: string; last_sequence: string }>(
    'SELECT room_id, last_sequence FROM rooms WHERE room_id = ANY($1::uuid[]) FOR UPDATE',
    [roomIds],
  );
  const stored = await client.query<{ room_id: string; sender_id: string; client_message_id: string }>(
    `SELECT m.room_id, m.sender_id, m.client_message_id
       FROM messages m
       JOIN unnest($1::uuid[], $2::text[], $3::text[]) AS k(room_id, sender_id, client_message_id)
         USING (room_id, sender_id, client_message_id)`,
    [messages.map((m) => m.roomId), messages.map((m) => m.actorId), messages.map((m) => m.commandId ?? m.messageId)],
  );
  return {
    lastSequence: new Map(rooms.rows.map((r) => [r.room_id, Number(r.last_sequence)])),
    storedMessages: new Set(stored.rows.map((r) => messageKey(r.room_id, r.sender_id, r.client_message_id))),
  };
}

/** One multi-row statement per table, whatever the batch size. */
async function writePlan(client: pg.PoolClient, plan: BatchPlan): Promise<void> {
  if (plan.rooms.length > 0) {
    await client.query(
      `INSERT INTO rooms (room_id, name, created_by, created_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
       ON CONFLICT (room_id) DO NOTHING`,
      [col(plan.rooms, 'roomId'), col(plan.rooms, 'name'), col(plan.rooms, 'createdBy'), plan.rooms.map((r) => new Date(r.createdAt))],
    );
  }
  if (plan.members.length > 0) {
    await client.query(
      `INSERT INTO room_members (room_id, user_id, joined_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])
       ON CONFLICT (room_id, user_id) DO NOTHING`,
      [col(plan.members, 'roomId'), col(plan.members, 'userId'), plan.members.map((m) => new Date(m.joinedAt))],
    );
  }
  if (plan.messages.length > 0) {
    const m = plan.messages;
    await client.query(
      `INSERT INTO messages (room_id, sequence, message_id, sender_id, client_message_id, body, sent_at, event_id)
       SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::uuid[])`,
      [
        col(m, 'roomId'),
        col(m, 'sequence'),
        col(m, 'messageId'),
        col(m, 'senderId'),
        col(m, 'clientMessageId'),
        col(m, 'body'),
        m.map((r) => new Date(r.sentAt)),
        col(m, 'eventId'),
      ],
    );
    const rooms = [...plan.lastSequence];
    await client.query(
      `UPDATE rooms SET last_sequence = v.last_sequence
         FROM unnest($1::uuid[], $2::bigint[]) AS v(room_id, last_sequence)
        WHERE rooms.room_id = v.room_id`,
      [rooms.map(([id]) => id), rooms.map(([, seq]) => seq)],
    );
  }
}

function col<T, K extends keyof T>(rows: readonly T[], key: K): T[K][] {
  return rows.map((row) => row[key]);
}
