import { afterAll, describe, expect, it } from 'vitest';
import type { Kafka, Producer } from 'kafkajs';
import { createKafka, loadConfig } from '@chat/platform';
import { cacheTransactionCoordinators } from '../src/adapters/kafka-coordinator-cache.ts';

// Against the real broker: the transactions of a producer whose Kafka client remembers its
// coordinator ask for it once, not before every AddPartitionsToTxn and EndTxn, and still commit.

const config = loadConfig();
const topic = `coordinator-cache-${crypto.randomUUID()}`;
const opened: Producer[] = [];

async function transactions(kafka: Kafka, count: number): Promise<{ lookups: number; offsets: string[] }> {
  const producer = kafka.producer({ transactionalId: `${topic}-${crypto.randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
  opened.push(producer);
  await producer.connect();
  let lookups = 0;
  producer.on(producer.events.REQUEST, ({ payload }) => {
    if (payload.apiName === 'GroupCoordinator') lookups++;
  });
  const offsets: string[] = [];
  for (let i = 0; i < count; i++) {
    const transaction = await producer.transaction();
    const [sent] = await transaction.send({ topic, acks: -1, messages: [{ key: 'k', value: `v${i}`, partition: 0 }] });
    await transaction.commit();
    offsets.push(sent!.baseOffset!);
  }
  return { lookups, offsets };
}

afterAll(async () => {
  for (const producer of opened) await producer.disconnect();
  const admin = createKafka(config, 'test').admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

describe('cacheTransactionCoordinators', () => {
  it('asks for the transaction coordinator once per producer instead of twice per transaction, and every transaction commits', async () => {
    const admin = createKafka(config, 'test').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();

    const plain = await transactions(createKafka(config, 'test'), 3);
    const cachedKafka = createKafka(config, 'test');
    expect(cacheTransactionCoordinators(cachedKafka)).toBe(true);
    const cached = await transactions(cachedKafka, 3);

    expect(plain.lookups).toBeGreaterThanOrEqual(6); // AddPartitionsToTxn and EndTxn each ask
    expect(cached.lookups).toBe(1);
    // Each transaction's record, then its commit marker: offsets 0, 2, 4, then 6, 8, 10.
    expect([...plain.offsets, ...cached.offsets].map(Number)).toEqual([0, 2, 4, 6, 8, 10]);
  });
});
