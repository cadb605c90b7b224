import type { Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import { endSpan, startRecordSpan, type Logger } from '@chat/platform';
import { sealContent, type ContentSealer, type EventCodec } from '@chat/schemas';
import { LogMismatch } from '../app/partition-owner.ts';
import type { Appended, Appender } from '../app/transaction-pump.ts';

// Appends to the room topic in Kafka transactions, one producer per instance: a transaction
// carries the commands of every partition the instance owns, so its cost (three requests and
// their socket writes, the dearest part of a command here) is shared by all of them.
//
// Fencing is per producer generation: each generation has a transactional id of its own, a
// new owner of a partition opens the previous writer's transactional id once (`fence`), which
// aborts that producer's open transaction and makes its next one fail with
// INVALID_PRODUCER_EPOCH. A fenced generation is never opened again by its instance: after
// any failure the instance moves to a new generation. Consumers read committed records only.
//
// Message content (bodies, edits, attachments) is sealed here, as each record is encoded, under
// keys kept outside the log (schemas/src/content.ts): the log holds its ciphertext only.
//
// Each record gets a span of its own in its command's trace, from the send to the commit, and
// carries it in its headers (traceparent), so the projection continues that trace; one
// transaction holds the records of many commands, hence many traces.

const TRANSACTION_TIMEOUT_MS = 15_000;

export class KafkaAppender implements Appender {
  private readonly kafka: Kafka;
  private readonly codec: EventCodec;
  private readonly topic: string;
  private readonly instanceId: string;
  private readonly log: Logger;
  private producer: Producer | undefined;
  private generation = 0;
  private readonly fenced = new Set<string>();
  private readonly sealer: ContentSealer | undefined;

  /** Without a sealer, content goes in the clear (as events written before sealing): tests of the log alone. */
  constructor(kafka: Kafka, codec: EventCodec, topic: string, log: Logger, sealer?: ContentSealer) {
    this.kafka = kafka;
    this.sealer = sealer;
    this.codec = codec;
    this.topic = topic;
    this.instanceId = crypto.randomUUID();
    this.log = log;
  }

  /** The transactional id of the current generation: what a partition's writer record names. */
  get transactionalId(): string {
    return `command-service.${this.topic}.${this.instanceId}.${this.generation}`;
  }

  async open(): Promise<void> {
    const previous = this.producer;
    this.producer = undefined;
    await previous?.disconnect().catch(() => undefined);
    this.generation++;
    this.producer = await this.initialised(this.transactionalId);
  }

  async fence(transactionalId: string): Promise<void> {
    if (transactionalId === this.transactionalId || this.fenced.has(transactionalId)) return;
    const fencer = await this.initialised(transactionalId);
    await fencer.disconnect();
    this.fenced.add(transactionalId);
  }

  async append(records: Appended[], floors: ReadonlyMap<number, bigint>): Promise<Map<number, bigint>> {
    const producer = this.producer;
    if (!producer) throw new Error('the appender is not open');
    const traced = records.map(({ event, partition, trace }) =>
      startRecordSpan(this.topic, trace, {
        'messaging.destination.partition.id': String(partition),
        'messaging.message.id': event.eventId,
        'chat.event.type': event.type,
      }),
    );
    try {
      const messages = await Promise.all(
        records.map(async ({ event, partition }, i) => ({
          key: event.roomId,
          value: await this.codec.encode(this.sealer ? await sealContent(event, this.sealer) : event),
          partition,
          headers: { 'event-type': event.type, 'event-id': event.eventId, ...traced[i]!.headers },
        })),
      );
      const firstOffsets = await this.commit(producer, messages, floors);
      const next = new Map(firstOffsets);
      records.forEach(({ partition }, i) => {
        const offset = next.get(partition)!;
        next.set(partition, offset + 1n);
        traced[i]!.span.setAttribute('messaging.kafka.offset', Number(offset));
        traced[i]!.span.end();
      });
      return firstOffsets;
    } catch (error) {
      for (const { span } of traced) endSpan(span, error);
      throw error;
    }
  }

  /** One transaction: resolves with each partition's first offset once committed, aborts on failure. */
  private async commit(producer: Producer, messages: Message[], floors: ReadonlyMap<number, bigint>): Promise<Map<number, bigint>> {
    const transaction = await producer.transaction();
    try {
      const metadata = await transaction.send({ topic: this.topic, acks: -1, messages });
      // Checked before the commit: a transaction missing a partition, or placed in another log, is aborted whole.
      const firstOffsets = firstOffsetsOf(
        messages.map((m) => m.partition!),
        metadata,
      );
      const below = [...firstOffsets].filter(([partition, offset]) => offset < (floors.get(partition) ?? 0n));
      if (below.length > 0) {
        const where = below.map(([partition, offset]) => `partition ${partition} at offset ${offset}, below ${floors.get(partition)}`);
        throw new LogMismatch(
          `the log placed new records lower than this instance's state reaches (${where.join('; ')})`,
          below.map(([p]) => p),
        );
      }
      await transaction.commit();
      return firstOffsets;
    } catch (error) {
      await transaction.abort().catch((abortError: unknown) => this.log.debug('abort after a failed append failed', { abortError }));
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }

  /** A producer whose transactional id is initialised: that is the step that fences earlier holders. */
  private async initialised(transactionalId: string): Promise<Producer> {
    const producer = this.kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      // A transaction its producer left open (a crash, a lost abort) holds every read-committed
      // reader of its partitions until the broker aborts it: keep that short. Owners fence a
      // writer they replace at once anyway; this bounds the cases nobody fences.
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      // A transaction begun right after a commit usually meets CONCURRENT_TRANSACTIONS while
      // the broker writes the last one's markers; kafkajs retries after this backoff, which a
      // command waits out, so keep it short (measured here: 3 ms gives a 6 ms median
      // transaction, kafkajs's 300 ms default shows as a 300 ms p99). Bounded: a failed
      // transaction is aborted and its commands answered UNAVAILABLE, never misreported.
      retry: { initialRetryTime: 3, maxRetryTime: 500, retries: 12 },
    });
    try {
      await producer.connect();
      const first = await producer.transaction();
      await first.abort();
      return producer;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }
}

/**
 * Each partition's first offset from a transactional send's result. kafkajs can resolve a send
 * without a partition whose leader moved to a broker that already answered; committing then
 * would commit the other partitions' records and leave that one's commands in doubt. So a
 * result that lacks any partition written to (or its offset) throws, and the caller aborts.
 */
export function firstOffsetsOf(partitions: readonly number[], metadata: readonly RecordMetadata[]): Map<number, bigint> {
  const firstOffsets = new Map<number, bigint>();
  for (const { partition, baseOffset } of metadata) if (baseOffset !== undefined) firstOffsets.set(partition, BigInt(baseOffset));
  const missing = [...new Set(partitions)].filter((partition) => !firstOffsets.has(partition));
  if (missing.length > 0) throw new Error(`Kafka's answer to the send has no offset for partition ${missing.join(', ')}`);
  return firstOffsets;
}
