import type { Consumer, EachBatchPayload } from 'kafkajs';
import type pg from 'pg';
import { keepWaitingWhileRunning, sleep, type Logger } from '@chat/platform';
import type { EventCodec } from '@chat/schemas';
import { projectBatch, type Applier, type DecodedRecord } from '../adapters/pg-projection.ts';
import type { RedisPublisher } from '../adapters/redis-publisher.ts';

// The consumer loop: decode a partition's batch, project it in one transaction, publish what
// changed, and only then let Kafka know (Postgres' checkpoint is the truth; the committed
// group offset is just where to start reading).

export interface ProjectorDeps {
  consumer: Consumer;
  pool: pg.Pool;
  codec: EventCodec;
  publisher: RedisPublisher;
  log: Logger;
}

/** The topics to project, each with what writes its events into the read models. */
export type Projections = Record<string, Applier>;

export async function runProjector({ consumer, pool, codec, publisher, log }: ProjectorDeps, projections: Projections): Promise<void> {
  await consumer.subscribe({ topics: Object.keys(projections), fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 4,
    eachBatch: async (payload) => {
      const { topic } = payload.batch;
      const applier = projections[topic];
      if (!applier) throw new Error(`no projection for topic ${topic}`);
      const records = await decodeBatch(payload, codec);
      const result = await retryUntilDone(payload, log, async () => {
        const client = await pool.connect();
        try {
          return await projectBatch(client, topic, payload.batch.partition, records, applier);
        } finally {
          client.release();
        }
      });
      if (result === undefined) return; // stopping: the batch is redelivered to whoever takes the partition
      await publisher.publish(result.notifications);
      const last = records.at(-1);
      if (last) payload.resolveOffset(last.offset);
      await payload.heartbeat();
      if (result.deadLettered > 0)
        log.error('records moved to dead_letters', { partition: payload.batch.partition, count: result.deadLettered });
      if (result.faults > 0)
        log.error('revision faults recorded in projection_faults', { partition: payload.batch.partition, count: result.faults });
      log.debug('batch projected', { partition: payload.batch.partition, applied: result.applied, skipped: result.skipped });
    },
  });
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
