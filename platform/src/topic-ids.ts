import type { Admin } from 'kafkajs';

// A topic's id (KIP-516) tells a topic apart from an older one of the same name: deleting and
// recreating a topic keeps its name and gives it a new id, so a position (partition, offset)
// remembered with the id can be checked against the topic it was read from. kafkajs 2.2.4 asks
// for Metadata at most at v6, which has no ids; patches/kafkajs+2.2.4.patch adds
// admin.fetchTopicIds (Metadata v10) for this, and leaves the producer and consumer on v6.

/**
 * The ids of `topics`, as Kafka prints them (`kafka-topics.sh --describe`: 22 characters of
 * URL-safe base64), by topic name. Rejects if a topic does not exist, or if the broker does not
 * support Metadata v10. Never creates a topic.
 */
export async function fetchTopicIds(admin: Admin, topics: string[]): Promise<Map<string, string>> {
  if (topics.length === 0) return new Map();
  // kafkajs has an id for every topic asked for, or rejects.
  return new Map(Object.entries(await admin.fetchTopicIds({ topics })));
}
