import { deadLetters } from '@chat/platform';
import type { Kafka, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';

// The dead-letter topic: every record the projector set aside, with its original key and
// bytes, and where it came from and why in headers, for tools and people outside Postgres.
// Written before the batch that set it aside commits, so a crash in between writes it again
// on redelivery: readers take the source position in the headers as the record's identity.

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  error: string;
  key: string | null;
  value: Buffer | null;
}

export type DeadLetterSink = (letters: readonly DeadLetter[]) => Promise<void>;

const MAX_REASON = 1000;

export class DeadLetterTopic {
  private readonly producer: Producer;
  private readonly topic: string;

  constructor(kafka: Kafka, topic: string) {
    // Named, though it is kafkajs 2's default (Java's murmur2 by key), so kafkajs does not warn at each start that the default changed in 2.0.
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    this.topic = topic;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  readonly send: DeadLetterSink = async (letters) => {
    deadLetters.inc(letters.length);
    if (letters.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((letter) => ({
        key: letter.key,
        value: letter.value,
        headers: {
          'dlq-source-topic': letter.topic,
          'dlq-source-partition': String(letter.partition),
          'dlq-source-offset': letter.offset,
          'dlq-reason': letter.error.slice(0, MAX_REASON),
        },
      })),
    });
  };

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}
