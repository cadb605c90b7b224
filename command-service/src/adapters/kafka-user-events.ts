import type { Kafka, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { currentTrace, endSpan, startRecordSpan } from '@chat/platform';
import { sealContent, type ContentSealer, type EventCodec } from '@chat/schemas';
import type { UserEventLog } from '../app/accounts.ts';
import type { UserEvent } from '../domain/account.ts';

// Appends user events, keyed by user id, one record per send (see the write-side notes on why
// several partitions in one idempotent send can be misreported). No transactions here: the
// account row in Postgres decides, and an append repeated after an unclear failure is the same
// event again, which the projector applies once. Each record carries its span (the sign-up's
// trace) in its headers, as room events do. Profiles are sealed as they are encoded (schemas/src/content.ts),
// so deleting an account (which erases the user's keys) leaves its profile unreadable in the log too.

export class KafkaUserEvents implements UserEventLog {
  private readonly producer: Producer;
  private readonly codec: EventCodec;
  private readonly topic: string;
  private readonly sealer: ContentSealer;
  private connected: Promise<void> | undefined;

  constructor(kafka: Kafka, codec: EventCodec, topic: string, sealer: ContentSealer) {
    // Named, though it is kafkajs 2's default (Java's murmur2 by key), so kafkajs does not warn at each start that the default changed in 2.0.
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    this.codec = codec;
    this.topic = topic;
    this.sealer = sealer;
  }

  async append(event: UserEvent): Promise<bigint> {
    this.connected ??= this.producer.connect().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    await this.connected;
    const { span, headers } = startRecordSpan(this.topic, currentTrace(), {
      'messaging.message.id': event.eventId,
      'chat.event.type': event.type,
    });
    try {
      const [metadata] = await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: [
          {
            key: event.userId,
            value: await this.codec.encode(await sealContent(event, this.sealer)),
            headers: { 'event-type': event.type, 'event-id': event.eventId, ...headers },
          },
        ],
      });
      if (metadata?.baseOffset === undefined) throw new Error('Kafka returned no offset for a user event');
      span.setAttribute('messaging.kafka.offset', Number(metadata.baseOffset));
      span.end();
      return BigInt(metadata.baseOffset);
    } catch (error) {
      endSpan(span, error);
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
