import type { Consumer, EachBatchPayload } from 'kafkajs';
import type pg from 'pg';
import { keepWaitingWhileRunning, sleep, type Logger } from '@chat/platform';
import type { EventCodec } from '@chat/schemas';
import { projectBatch, type Applier, type DecodedRecord } from '../adapters/pg-projection.ts';
import type { RedisPublisher } from '../adapters/redis-publisher.ts';
import type { DeadLetterSink } from '../adapters/dead-letter-topic.ts';

// The consumer loop: decode a partition's batch, project it in one transaction, queue what
// changed for publishing, and let Kafka know (Postgres' checkpoint is the truth; the committed
// group offset is just where to start reading).

export interface ProjectorDeps {
  consumer: Consumer;
  pool: pg.Pool;
  codec: EventCodec;
  publisher: Pick<RedisPublisher, 'enqueue'>;
  /** Where records set aside go besides the dead_letters table. */
  deadLetters: DeadLetterSink;
  log: Logger;
  /** The live projector tells command services of each checkpoint and commits durably; a rebuild does neither. */
  live?: boolean;
  /**
   * How far a partition may be projected (exclusive), or undefined for no limit: a rebuild
   * stays level with the schema it is to replace. A partition that reaches it pauses until
   * `resumeCapped` finds it raised.
   */
  cap?: (topic: string, partition: number) => bigint | undefined;
}

export interface RunningProjector {
  /** Resumes the partitions paused at their cap whose cap has moved on since. */
  resumeCapped(): void;
}

/** The topics to project, each with what writes its events into the read models. */
export type Projections = Record<string, Applier>;

export async function runProjector(
  { consumer, pool, codec, publisher, deadLetters, log, live = true, cap }: ProjectorDeps,
  projections: Projections,
): Promise<RunningProjector> {
  // Partitions whose first batch since the last assignment was checked against the checkpoint.
  const aligned = new Set<string>();
  /** Partitions paused at their cap, with the offset they stopped before. */
  const capped = new Map<string, { topic: string; partition: number; at: bigint }>();
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    aligned.clear();
    // Every partition assigned starts at its checkpoint, even one with nothing new to fetch
    // from the group offset (a batch would never come to be checked).
    void (async () => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          const next = await checkpointOf(pool, topic, partition).catch(() => undefined);
          if (next !== undefined) consumer.seek({ topic, partition, offset: String(next) });
        }
      }
    })();
  });
  await consumer.subscribe({ topics: Object.keys(projections), fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 4,
    eachBatch: async (payload) => {
      const { topic, partition } = payload.batch;
      const applier = projections[topic];
      if (!applier) throw new Error(`no projection for topic ${topic}`);
      // Postgres' checkpoint decides where a partition resumes; the group offset is only a
      // hint. Behind it is harmless (the records are skipped); ahead of it (a restored schema,
      // offsets moved by someone else) would skip events for good: read from the checkpoint.
      if (!aligned.has(`${topic}:${partition}`)) {
        const next = await retryUntilDone(payload, log, () => checkpointOf(pool, topic, partition));
        if (next === undefined) return;
        aligned.add(`${topic}:${partition}`);
        const first = payload.batch.firstOffset();
        if (first !== null && BigInt(first) > next) {
          log.warn('the group offset was ahead of the checkpoint; reading from the checkpoint', {
            topic,
            partition,
            from: String(next),
            groupAt: first,
          });
          consumer.seek({ topic, partition, offset: String(next) });
          return;
        }
      }
      let records = await decodeBatch(payload, codec);
      const limit = cap?.(topic, partition);
      if (limit !== undefined && records.some((r) => BigInt(r.offset) >= limit)) {
        records = records.filter((r) => BigInt(r.offset) < limit);
        capped.set(`${topic}:${partition}`, { topic, partition, at: limit });
        consumer.pause([{ topic, partitions: [partition] }]);
      }
      if (records.length === 0) return;
      const result = await retryUntilDone(payload, log, async () => {
        const client = await pool.connect();
        try {
          return await projectBatch(client, topic, payload.batch.partition, records, applier, { deadLetters, notify: live, durable: live });
        } finally {
          client.release();
        }
      });
      if (result === undefined) return; // stopping: the batch is redelivered to whoever takes the partition
      // Never awaited: Redis trouble must not hold up projection (see RedisPublisher).
      publisher.enqueue(result.notifications);
      const last = records.at(-1);
      if (last) payload.resolveOffset(last.offset);
      await payload.heartbeat();
      if (result.deadLettered > 0) {
        log.error('records set aside as dead letters (./chat dead-letters list)', { topic, partition, count: result.deadLettered });
      }
      if (result.faults > 0) log.error('revision faults recorded in projection_faults', { partition, count: result.faults });
      log.debug('batch projected', { partition: payload.batch.partition, applied: result.applied, skipped: result.skipped });
    },
  });
  return {
    resumeCapped: () => {
      for (const [key, { topic, partition, at }] of capped) {
        const limit = cap?.(topic, partition);
        if (limit !== undefined && limit <= at) continue;
        capped.delete(key);
        consumer.resume([{ topic, partitions: [partition] }]);
      }
    },
  };
}

async function checkpointOf(pool: pg.Pool, topic: string, partition: number): Promise<bigint> {
  const { rows } = await pool.query<{ next_offset: string }>(
    'SELECT next_offset FROM projection_checkpoints WHERE topic = $1 AND partition = $2',
    [topic, partition],
  );
  return BigInt(rows[0]?.next_offset ?? '0');
}

async function decodeBatch(payload: EachBatchPayload, codec: EventCodec): Promise<DecodedRecord[]> {
  const { batch } = payload;
  const records: DecodedRecord[] = [];
  // While the registry is unreachable, wait for it rather than dead-letter good events.
  const keepWaiting = keepWaitingWhileRunning(payload);
  for (const message of batch.messages) {
    const outcome = await codec.decodeRecord(message.value, keepWaiting);
    const raw = { key: message.key?.toString() ?? null, value: message.value };
    records.push(
      'event' in outcome
        ? { offset: message.offset, event: outcome.event, ...raw }
        : { offset: message.offset, poison: { error: outcome.undecodable, ...raw } },
    );
  }
  return records;
}

/** Retries Postgres work through an outage, keeping the group session alive meanwhile. */
async function retryUntilDone<T>({ heartbeat, isRunning }: EachBatchPayload, log: Logger, work: () => Promise<T>): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isRunning()) return undefined;
      log.warn('projecting a batch failed; retrying', { attempt, error });
      await heartbeat().catch(() => undefined);
      await sleep(Math.min(5000, 200 * attempt));
    }
  }
}
