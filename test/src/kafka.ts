import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { sleep } from '@chat/platform';

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

/**
 * Deletes `topic` and makes it again under the same name with as many partitions, as an operator
 * would (or a broker with empty storage, auto-creating it): a new topic id, offsets from zero.
 * Resolves with its partition count.
 */
export async function remakeTopic(admin: Admin, topic: string): Promise<number> {
  const partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length;
  await admin.deleteTopics({ topics: [topic] });
  for (;;) {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }).catch(() => false);
    if (created) return partitions;
    await sleep(500); // the deletion may still be finishing on the broker
  }
}
