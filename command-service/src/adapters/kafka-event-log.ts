import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { topicName, type Logger } from '@chat/platform';
import { eventKey, type EventCodec } from '@chat/schemas';
import type { EventLog } from '../app/command-handler.ts';
import type { RoomEvent } from '../domain/room.ts';
import type { Position } from '../app/room-store.ts';

// Appends to chat.room-events with an idempotent producer (acks=all): a broker retry never
// writes an event twice, and send() resolves only once every in-sync replica has it.

export class KafkaEventLog implements EventLog {
  private readonly producer: Producer;
  private readonly codec: EventCodec;
  private readonly topic: string;

  constructor(kafka: Kafka, codec: EventCodec, topicPrefix: string) {
    this.producer = kafka.producer({
      idempotent: true,
      // One request in flight keeps the idempotent producer's sequence numbers simple and the
      // order within a partition strict, whatever the retries.
      maxInFlightRequests: 1,
      // Java-compatible murmur2 partitioning, so any Kafka client agrees on a room's partition.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.codec = codec;
    this.topic = topicName(topicPrefix, 'roomEvents');
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async append(events: RoomEvent[], traceparent: string): Promise<Position[]> {
    const messages = await Promise.all(
      events.map(async (event) => ({
        key: eventKey(event),
        value: await this.codec.encode(event),
        headers: { 'event-type': event.type, 'event-id': event.eventId, traceparent },
      })),
    );
    const [record] = await this.producer.send({ topic: this.topic, acks: -1, messages });
    if (!record || record.baseOffset === undefined) throw new Error('Kafka returned no offset for the append');
    // All events of one command share the room key, hence one partition and consecutive offsets.
    const base = BigInt(record.baseOffset);
    return events.map((_, i) => ({ partition: record.partition, offset: String(base + BigInt(i)) }));
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
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        if (!message.value) continue;
        try {
          const event = (await codec.decode(message.value)) as RoomEvent;
          apply(event, { partition: batch.partition, offset: message.offset });
        } catch (error) {
          log.error('skipping an undecodable event', { partition: batch.partition, offset: message.offset, error });
        }
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
