import { Partitioners, type Kafka, type Message, type PartitionMetadata, type Producer } from 'kafkajs';
import { keepWaitingWhileRunning, topicName, type Logger } from '@chat/platform';
import { eventKey, type EventCodec } from '@chat/schemas';
import type { EventLog } from '../app/command-handler.ts';
import type { RoomEvent } from '../domain/room.ts';
import type { Position } from '../app/room-store.ts';

// Appends to chat.room-events with an idempotent producer (acks=all): a broker retry never
// writes an event twice, and an append resolves only once every in-sync replica has it.
//
// Appends that arrive while a produce request is in flight are sent together in the next
// one, so under load one round trip carries many commands, and an idle service sends each
// append at once. Per-room order is kept by the command handler's lock (one command per
// room in flight) and by Kafka's order within a partition.

interface PendingAppend {
  partition: number;
  messages: Message[];
  resolve: (positions: Position[]) => void;
  reject: (error: unknown) => void;
}

export class KafkaEventLog implements EventLog {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly codec: EventCodec;
  private readonly topic: string;
  // The Java client's murmur2 partitioner, so any Kafka client agrees on a room's partition.
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private partitions: PartitionMetadata[] = [];
  private queue: PendingAppend[] = [];
  private sending = false;

  constructor(kafka: Kafka, codec: EventCodec, topicPrefix: string) {
    this.kafka = kafka;
    this.producer = kafka.producer({
      idempotent: true,
      // One request in flight keeps the idempotent producer's sequence numbers simple and
      // the order within a partition strict, whatever the retries.
      maxInFlightRequests: 1,
      // An idempotent producer must retry without limit, or a retry that gives up could leave
      // an event written that the service reported as failed. Callers get a bounded answer
      // from the command handler's append timeout instead.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 },
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.codec = codec;
    this.topic = topicName(topicPrefix, 'roomEvents');
  }

  async connect(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [this.topic] });
      this.partitions = topics[0]?.partitions ?? [];
    } finally {
      await admin.disconnect();
    }
    if (this.partitions.length === 0) throw new Error(`topic ${this.topic} has no partitions; run infra:up`);
    await this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async append(events: RoomEvent[], traceparent: string): Promise<Position[]> {
    const key = eventKey(events[0]!);
    if (events.some((event) => eventKey(event) !== key)) throw new Error('one append holds the events of one room');
    const messages: Message[] = await Promise.all(
      events.map(async (event) => ({
        key,
        value: await this.codec.encode(event),
        headers: { 'event-type': event.type, 'event-id': event.eventId, traceparent },
      })),
    );
    const partition = this.partitionOf(key);
    return new Promise((resolve, reject) => {
      this.queue.push({ partition, messages, resolve, reject });
      void this.sendQueued();
    });
  }

  private partitionOf(key: string): number {
    return this.partitioner({ topic: this.topic, partitionMetadata: this.partitions, message: { key, value: null } });
  }

  private async sendQueued(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.send(batch);
      }
    } finally {
      this.sending = false;
    }
  }

  private async send(batch: PendingAppend[]): Promise<void> {
    try {
      const records = await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: batch.flatMap(({ partition, messages }) => messages.map((message) => ({ ...message, partition }))),
      });
      // Within a partition, records get consecutive offsets in the order they were sent.
      const nextOffset = new Map(records.map((r) => [r.partition, BigInt(r.baseOffset ?? -1)]));
      for (const append of batch) {
        const first = nextOffset.get(append.partition);
        if (first === undefined || first < 0n) throw new Error(`Kafka returned no offset for partition ${append.partition}`);
        append.resolve(append.messages.map((_, i) => ({ partition: append.partition, offset: String(first + BigInt(i)) })));
        nextOffset.set(append.partition, first + BigInt(append.messages.length));
      }
    } catch (error) {
      for (const append of batch) append.reject(error);
    }
  }
}

/**
 * Folds the whole room-events topic into `apply` from the beginning, and resolves once
 * every partition is read up to where it ended at start-up. It keeps following the topic
 * afterwards, so events appended by anything else are folded in too.
 */
export async function followRoomEvents(
  kafka: Kafka,
  codec: EventCodec,
  topicPrefix: string,
  apply: (event: RoomEvent, position: Position) => void,
  log: Logger,
): Promise<{ caughtUp: Promise<void>; stop: () => Promise<void> }> {
  const topic = topicName(topicPrefix, 'roomEvents');
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));

  let markCaughtUp!: () => void;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  if (remaining.size === 0) markCaughtUp();

  // A private group that never commits: every start reads the log from the beginning.
  const consumer = kafka.consumer({ groupId: `${topicPrefix}command-service-${crypto.randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async (payload) => {
      const { batch } = payload;
      // Skipping an event because the registry is down would leave a room's state wrong:
      // wait for the registry instead. Only a record that can never decode is passed over.
      const keepWaiting = keepWaitingWhileRunning(payload);
      for (const message of batch.messages) {
        const outcome = await codec.decodeRecord(message.value, keepWaiting);
        if ('event' in outcome) apply(outcome.event as RoomEvent, { partition: batch.partition, offset: message.offset });
        else
          log.error('passing over an undecodable record', {
            partition: batch.partition,
            offset: message.offset,
            error: outcome.undecodable,
          });
      }
      const end = remaining.get(batch.partition);
      if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) {
        remaining.delete(batch.partition);
        if (remaining.size === 0) markCaughtUp();
      }
    },
  });
  return { caughtUp, stop: () => consumer.disconnect() };
}
