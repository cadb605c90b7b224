import type { Kafka, KafkaMessage } from 'kafkajs';

/** The sum of a topic's end offsets: how many records it holds, to prove nothing was appended. */
export async function topicSize(kafka: Kafka, topic: string): Promise<bigint> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + BigInt(p.high), 0n);
  } finally {
    await admin.disconnect();
  }
}

/** Reads one raw record back from the topic, as any Kafka client would see it. */
export async function readRecord(kafka: Kafka, topic: string, partition: number, offset: string): Promise<KafkaMessage> {
  const consumer = kafka.consumer({ groupId: `test-reader-${crypto.randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<KafkaMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`record ${topic}/${partition}@${offset} not read in time`)), 30_000);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition: p, message }) => {
          if (p === partition && message.offset === offset) {
            clearTimeout(timer);
            resolve(message);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}
