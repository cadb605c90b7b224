import type { Admin } from 'kafkajs';
import { sleep } from './wait.ts';

// Topics are the event store. Partition counts are fixed at creation: changing them would
// move rooms to other partitions and break per-room order, so they are constants here.
export const TOPICS = {
  roomEvents: { name: 'chat.room-events', partitions: 12 },
  userEvents: { name: 'chat.user-events', partitions: 6 },
  // Records the projector could not decode or apply, with their source position in headers.
  deadLetters: { name: 'chat.dead-letters', partitions: 1 },
} as const;

export type TopicKey = keyof typeof TOPICS;

export function topicName(prefix: string, key: TopicKey): string {
  return `${prefix}${TOPICS[key].name}`;
}

/** Infinite retention, no compaction: nothing is ever deleted from the event store. */
const EVENT_STORE_CONFIG = [
  { name: 'retention.ms', value: '-1' },
  { name: 'retention.bytes', value: '-1' },
  { name: 'cleanup.policy', value: 'delete' },
];

/** Creates the event topics under `prefix` if missing. Safe to call any number of times. */
export async function ensureTopics(admin: Admin, prefix: string): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = Object.keys(TOPICS)
    .map((key) => TOPICS[key as TopicKey])
    .filter((t) => !existing.has(prefix + t.name));
  if (missing.length === 0) return;
  for (let attempt = 1; ; attempt++) {
    try {
      // Topics already there are no error: a retry creates what is still missing and waits for leaders again.
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: prefix + t.name,
          numPartitions: t.partitions,
          // The broker's default.replication.factor: 1 on a single broker, 3 in the scale stack.
          replicationFactor: -1,
          configEntries: EVENT_STORE_CONFIG,
        })),
      });
      return;
    } catch (error) {
      // A broker that has just started can answer that it does not host a topic it has just
      // created (its metadata is still catching up): retriable, so wait and ask again.
      const { retriable, cause } = error as { retriable?: boolean; cause?: { retriable?: boolean } };
      if (!(retriable || cause?.retriable) || attempt >= 10) throw error;
      await sleep(250 * attempt);
    }
  }
}
