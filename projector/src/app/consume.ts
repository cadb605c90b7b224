import { consumerLag, projectorBatchRecords, projectorEvents } from '@chat/platform';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type pg from 'pg';
import { ContentIntegrityError, keepWaitingWhileRunning, retryThroughOutage, sleep, type Logger } from '@chat/platform';
import type { DomainEvent, EventCodec } from '@chat/schemas';
import { projectBatches, type Applier, type DecodedRecord, type PartitionBatch } from '../adapters/pg-projection.ts';
import type { RedisPublisher } from '../adapters/redis-publisher.ts';
import type { DeadLetterSink } from '../adapters/dead-letter-topic.ts';
import { BatchGatherer, type GatherOptions } from './gather.ts';
import { ProjectionSpans } from './projection-spans.ts';

// The consumer loop: decode a partition's batch, project it in a transaction gathered with
// the other partitions' batches of the moment, queue what changed for publishing, and let Kafka
// know (Postgres' checkpoint is the truth; the committed group offset is just where to start reading).
// The live projector traces each record in its command's trace (projection-spans.ts); a rebuild does not.

/**
 * 10 ms: the longest a live message waits behind a write in flight before a second write takes
 * it (it goes as soon as that write commits, see gather.ts: a fixed 10 ms window cost a lone
 * message 5 to 10 ms at 100 messages/s, for fewer commits only at 1,000/s); 20,000 records: a
 * backlog's write, about 5 MB of rows; four writes' worth handed over and not yet committed;
 * two writes at once (one made a backlog 30% slower).
 */
const GATHER: GatherOptions = { waitMs: 10, maxRecords: 20_000, maxInFlight: 2, maxQueued: 80_000 };
/** How long a stopping projector waits for its batches handed over to commit before it gives up on them. */
export const FINISH_TIMEOUT_MS = 10_000;
/** Every partition of both topics (12 and 6) may have a batch in hand, so one write can gather them all. */
const PARTITIONS_IN_HAND = 18;
/**
 * How often the group offsets are committed. They are only a hint (each assigned partition
 * starts at its Postgres checkpoint), and kafkajs's auto-commit sent an OffsetCommit after
 * every batch: at 1,000 messages/s over 100 rooms, 350 a second, each a write to the broker's
 * offsets log, more requests than the fetches themselves.
 */
const GROUP_OFFSET_COMMIT_MS = 5_000;

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
  /**
   * Told of records set aside and revision faults. By default they are logged as errors, as the
   * live projector finds them; a rebuild meets the same old ones again and counts them instead.
   */
  onProblems?: (found: { deadLettered: number; faults: number }) => void;
  /** The consumer group, as the records' spans name it. */
  group?: string;
}

export interface RunningProjector {
  /** Resumes the partitions paused at their cap whose cap has moved on since. */
  resumeCapped(): void;
  /**
   * Partitions stopped until an operator acts: their log holds less than was already read from
   * it (see below), or two of its events claim one room revision (see projectBatches).
   */
  readonly halted: ReadonlySet<string>;
  /** Stops every partition, now and whenever one is assigned again (another cluster answers: see ClusterWatch). */
  haltAll(): void;
  /** Stops a partition whose log ends (`logEnd`) below what was already read from it: not the same log. */
  haltShrunk(topic: string, partition: number, logEnd: bigint, alreadyRead: bigint): void;
  /**
   * After the consumer disconnected: waits (up to `timeoutMs`) until every batch handed over
   * is committed, then gives up on the rest (read again from the checkpoints by whoever
   * projects next). Before the pool is closed.
   */
  finish(timeoutMs: number): Promise<void>;
}

/** The topics to project, each with what writes its events into the read models. */
export type Projections = Record<string, Applier>;

export async function runProjector(
  { consumer, pool, codec, publisher, deadLetters, log, live = true, cap, group = 'projector', onProblems }: ProjectorDeps,
  projections: Projections,
): Promise<RunningProjector> {
  const spans = live ? new ProjectionSpans(group) : undefined;
  // Partitions whose first batch since the last assignment was checked against the checkpoint.
  const aligned = new Set<string>();
  /** Partitions paused at their cap, with the offset they stopped before. */
  const capped = new Map<string, { topic: string; partition: number; at: bigint }>();
  // How far each partition's log is known to reach: its checkpoint, or past the records read
  // from it. A log that ends before that is not the log the read models were built from (a
  // broker back with empty storage, a topic made again, another cluster): its offsets name
  // other records, and projecting them would mix two histories, so the partition stops until an
  // operator acts (the records below the checkpoint would otherwise be skipped as applied).
  const reached = new Map<string, bigint>();
  const halted = new Set<string>();
  let everything = false;
  const isHalted = (k: string) => everything || halted.has(k);
  const haltShrunk = (topic: string, partition: number, logEnd: bigint, alreadyRead: bigint) => {
    const k = `${topic}:${partition}`;
    if (halted.has(k)) return;
    halted.add(k);
    pauseIfRunning(consumer, [{ topic, partitions: [partition] }]);
    log.error('the event log is not the one the read models were built from; this partition is stopped until an operator acts', {
      topic,
      partition,
      logEnd: String(logEnd),
      alreadyRead: String(alreadyRead),
    });
  };
  const reach = (k: string, offset: bigint) => {
    if (offset > (reached.get(k) ?? 0n)) reached.set(k, offset);
  };
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    aligned.clear();
    // Every partition assigned starts at its checkpoint, even one with nothing new to fetch
    // from the group offset (a batch would never come to be checked).
    void (async () => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          try {
            consumer.seek({ topic, partition, offset: String(await checkpointOf(pool, topic, partition)) });
          } catch (error) {
            // Not fatal: the partition's first batch reads the checkpoint again before it projects.
            log.warn('seeking to a checkpoint on assignment failed; the first batch reads it again', { topic, partition, error });
          }
        }
      }
    })();
  });
  const project = async (gathered: PartitionBatch[]) => {
    // A partition halted while later batches of it waited to be written: they must not apply past the halt.
    const batches = gathered.filter(({ topic, partition }) => !isHalted(`${topic}:${partition}`));
    const client = await pool.connect();
    return projectBatches(client, batches, applierFor(projections), { deadLetters, notify: live, durable: live }).finally(() =>
      client.release(),
    );
  };
  const write = async (batches: PartitionBatch[]) => {
    const result = await (spans ? spans.write(batches, () => project(batches)) : project(batches));
    // Never awaited: Redis trouble must not hold up projection (see RedisPublisher).
    publisher.enqueue(result.notifications);
    if (onProblems) {
      if (result.deadLettered > 0 || result.faults > 0) onProblems(result);
    } else {
      if (result.deadLettered > 0)
        log.error('records set aside as dead letters (./chat dead-letters list)', { count: result.deadLettered });
      if (result.faults > 0) log.error('revision faults recorded in projection_faults', { count: result.faults });
    }
    for (const { topic, partition, offset, roomId, detail } of result.halted) {
      halted.add(`${topic}:${partition}`);
      pauseIfRunning(consumer, [{ topic, partitions: [partition] }]);
      log.error('two events claim one room revision; this partition is stopped before the second until an operator acts', {
        topic,
        partition,
        offset,
        roomId,
        detail,
      });
    }
    log.debug('batches projected', { partitions: batches.length, applied: result.applied, skipped: result.skipped });
  };
  const gatherer = new BatchGatherer(write, GATHER, log);
  await consumer.subscribe({ topics: Object.keys(projections), fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    autoCommitInterval: GROUP_OFFSET_COMMIT_MS,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: PARTITIONS_IN_HAND,
    eachBatch: async (payload) => {
      const { topic, partition } = payload.batch;
      const k = `${topic}:${partition}`;
      // Paused again: a rebalance may have handed the halted partition back, unpaused.
      if (isHalted(k)) return void consumer.pause([{ topic, partitions: [partition] }]);
      // Postgres' checkpoint decides where a partition resumes; the group offset is only a
      // hint. Behind it is harmless (the records are skipped); ahead of it (a restored schema,
      // offsets moved by someone else) would skip events for good: read from the checkpoint.
      if (!aligned.has(`${topic}:${partition}`)) {
        const next = await retryUntilDone(payload, log, () => checkpointOf(pool, topic, partition));
        if (next === undefined) return;
        aligned.add(`${topic}:${partition}`);
        reach(k, next);
        const position = fetchedFrom(payload.batch);
        if (position !== null && BigInt(position) > next) {
          // One offset ahead is usually only the commit marker after the checkpoint, which the
          // group offset passes once the consumer has fetched it: no cause for a warning. The
          // checkpoint decides either way.
          const level = BigInt(position) - next > 1n ? 'warn' : 'debug';
          log[level]('the group offset was ahead of the checkpoint; reading from the checkpoint', {
            topic,
            partition,
            from: String(next),
            groupAt: position,
          });
          consumer.seek({ topic, partition, offset: String(next) });
          return;
        }
      }
      // The high watermark counts a partition's records and commit markers: never below what was read.
      const end = BigInt(payload.batch.highWatermark);
      if (end < (reached.get(k) ?? 0n)) return haltShrunk(topic, partition, end, reached.get(k)!);
      let records = await decodeBatch(payload, codec, log);
      spans?.start(topic, partition, payload.batch.messages, records);
      const limit = cap?.(topic, partition);
      if (limit !== undefined && records.some((r) => BigInt(r.offset) >= limit)) {
        records = records.filter((r) => BigInt(r.offset) < limit);
        capped.set(`${topic}:${partition}`, { topic, partition, at: limit });
        consumer.pause([{ topic, partitions: [partition] }]);
      }
      if (records.length === 0) return;
      reach(k, BigInt(records.at(-1)!.offset) + 1n);
      projectorEvents.inc({ topic }, records.length);
      projectorBatchRecords.observe(records.length);
      // Handed over, not yet committed: the group offset runs ahead of the checkpoint, which is
      // only a hint's worth of harm (a new owner starts at the checkpoint).
      await gatherer.submit({ topic, partition, records }, keepWaitingWhileRunning(payload));
      payload.resolveOffset(records.at(-1)!.offset);
      // A hint that failed to commit (a rebalance under way) is no reason to read the batch again.
      await payload.commitOffsetsIfNecessary().catch((error: unknown) => log.debug('group offset commit failed', { error }));
      consumerLag.set({ topic, partition: String(partition) }, Number(payload.batch.offsetLag()));
      await payload.heartbeat();
    },
  });
  return {
    halted,
    haltShrunk,
    haltAll: () => {
      everything = true;
      pauseIfRunning(
        consumer,
        Object.keys(projections).map((topic) => ({ topic })),
      );
    },
    resumeCapped: () => {
      for (const [key, { topic, partition, at }] of capped) {
        const limit = cap?.(topic, partition);
        if (limit !== undefined && limit <= at) continue;
        capped.delete(key);
        consumer.resume([{ topic, partitions: [partition] }]);
      }
    },
    finish: async (timeoutMs) => {
      await Promise.race([gatherer.flushed(), sleep(timeoutMs)]);
      gatherer.stop();
    },
  };
}

/** Pauses now; between two sessions (a restarting consumer) kafkajs refuses, and each partition is paused at its next batch instead. */
function pauseIfRunning(consumer: Consumer, topics: { topic: string; partitions?: number[] }[]): void {
  try {
    consumer.pause(topics);
  } catch {
    // see above: the halted set stops the next batch
  }
}

function applierFor(projections: Projections): (topic: string) => Applier {
  return (topic) => {
    const applier = projections[topic];
    if (!applier) throw new Error(`no projection for topic ${topic}`);
    return applier;
  };
}

async function checkpointOf(pool: pg.Pool, topic: string, partition: number): Promise<bigint> {
  const { rows } = await pool.query<{ next_offset: string }>(
    'SELECT next_offset FROM projection_checkpoints WHERE topic = $1 AND partition = $2',
    [topic, partition],
  );
  return BigInt(rows[0]?.next_offset ?? '0');
}

async function decodeBatch(payload: EachBatchPayload, codec: EventCodec, log: Logger): Promise<DecodedRecord[]> {
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
  return openSealed(payload, codec, log, records);
}

/**
 * The batch's sealed content opened, erased content as erased. Keys read while Postgres is away
 * are waited for; content no key opens (a wrong master key, a lost key, altered bytes) stops the
 * partition here, retried and logged as an error, rather than projecting text that is not what
 * was sent or dropping a message that was.
 */
async function openSealed(payload: EachBatchPayload, codec: EventCodec, log: Logger, records: DecodedRecord[]): Promise<DecodedRecord[]> {
  const decoded = records.filter((r): r is Extract<DecodedRecord, { event: DomainEvent }> => 'event' in r);
  const opened = await retryThroughOutage(() => codec.openSealed(decoded.map((r) => r.event)), {
    keepGoing: payload.isRunning,
    onFailure: async (error, attempt) => {
      if (error instanceof ContentIntegrityError) log.error('sealed content cannot be opened; the partition waits', { attempt, error });
      else log.warn('reading content keys failed; retrying', { attempt, error });
      await payload.heartbeat().catch(() => undefined);
    },
  });
  if (!opened) throw new Error('stopped while opening sealed content');
  let next = 0;
  return records.map((r) => ('event' in r ? { ...r, event: opened[next++]! } : r));
}

/** Retries Postgres work through an outage, keeping the group session alive meanwhile. */
function retryUntilDone<T>({ heartbeat, isRunning }: EachBatchPayload, log: Logger, work: () => Promise<T>): Promise<T | undefined> {
  return retryThroughOutage(work, {
    keepGoing: isRunning,
    onFailure: async (error, attempt) => {
      log.warn('projecting a batch failed; retrying', { attempt, error });
      await heartbeat().catch(() => undefined);
    },
  });
}

/**
 * The offset a batch was fetched from: the consumer's position. Not the batch's first record's
 * offset, which lies past commit markers and aborted records: a checkpoint (the offset after a
 * transaction's last record) always points at its commit marker. kafkajs keeps the position on
 * the batch without typing it.
 */
function fetchedFrom(batch: EachBatchPayload['batch']): string | null {
  const fetched = (batch as unknown as { fetchedOffset?: unknown }).fetchedOffset;
  return typeof fetched === 'string' ? fetched : batch.firstOffset();
}
