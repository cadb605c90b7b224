import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, createLogger, currentTrace, ensureTopics, loadConfig, topicName, type PlatformConfig } from '@chat/platform';
import { EventCodec, type RoomDomainEvent } from '@chat/schemas';
import { KafkaAppender } from '../../command-service/src/adapters/kafka-appender.ts';
import type { Appended } from '../../command-service/src/app/transaction-pump.ts';
import { OwnKafka } from '../src/faults/own-kafka.ts';
import { readRoomLog, repeated } from '../src/room-log.ts';
import { removeAfterAll } from '../src/leftovers.ts';

// The write path's Kafka client (kafkajs 2.2.4) through our appender, on three nodes, where one
// transaction's records go to three leaders in three produce requests at once. kafkajs retries
// a send when any of them fails (CONCURRENT_TRANSACTIONS on AddPartitionsToTxn right after a
// commit is the usual cause), and unpatched it sent again a request still in flight: the same
// records twice in one transaction, committed (here: 10,776 acknowledged, 12,234 in the log).
// patches/kafkajs+2.2.4.patch lets every request settle first. A leader that moved to a broker
// that already answered leaves a partition out of the send: the appender aborts such a
// transaction (firstOffsetsOf). Back-to-back transactions that touch every partition, with a
// node killed and restarted in the middle, must leave every acknowledged record in the log
// once and nothing of a failed append.

let kafka: OwnKafka;
let config: PlatformConfig;
let appender: KafkaAppender;
let partitions: number;
// Its topics are on its own nodes; its subjects are in the shared registry.
const prefix = `t_appender3_${Date.now().toString(36)}.`;
removeAfterAll(prefix);

beforeAll(async () => {
  kafka = await OwnKafka.create({ nodes: 3 });
  config = { ...loadConfig(), kafkaBrokers: kafka.brokers.split(','), topicPrefix: prefix };
  const admin = createKafka(config, 'appender-test').admin();
  await admin.connect();
  try {
    await ensureTopics(admin, prefix);
    partitions = (await admin.fetchTopicMetadata({ topics: [topicName(prefix, 'roomEvents')] })).topics[0]!.partitions.length;
  } finally {
    await admin.disconnect();
  }
  const codec = new EventCodec(config.schemaRegistryUrl, prefix);
  await codec.registerAll();
  appender = new KafkaAppender(
    createKafka(config, 'appender-test'),
    codec,
    topicName(prefix, 'roomEvents'),
    createLogger('appender-test', 'warn'),
  );
  await appender.open();
}, 240_000);

afterAll(async () => {
  await appender?.close();
  await kafka?.remove();
});

/** One record per partition, each of its own room, so the transaction reaches every leader. */
function transaction(n: number): Appended[] {
  return Array.from({ length: partitions }, (_, partition) => {
    const event: RoomDomainEvent = {
      type: 'RoomCreated',
      eventId: crypto.randomUUID(),
      occurredAt: Date.now(),
      actorId: crypto.randomUUID(),
      commandId: `tx-${n}-${partition}`,
      roomId: crypto.randomUUID(),
      revision: 1,
      name: `room ${n}/${partition}`,
      topic: null,
      visibility: 'PUBLIC',
      kind: 'GROUP',
    };
    return { event, partition, trace: currentTrace() };
  });
}

describe('the appender on three Kafka nodes', () => {
  it('commits each acknowledged record exactly once and no record of a failed append, with a node killed and back', async () => {
    const acknowledged = new Set<string>();
    const failed = new Set<string>();
    let failures = 0;
    const run = async (count: number, from: number) => {
      for (let n = from; n < from + count; n++) {
        const records = transaction(n);
        try {
          await appender.append(records, new Map());
          for (const { event } of records) acknowledged.add(event.eventId);
        } catch {
          failures++;
          for (const { event } of records) failed.add(event.eventId);
          // As the transaction pump does after any failure: a new producer generation.
          await appender.open().catch(() => undefined);
        }
      }
    };

    await run(300, 0);
    const leader = await kafka.leaderOf(topicName(config.topicPrefix, 'roomEvents'));
    const killed = kafka.kill(leader);
    await run(300, 300);
    await killed;
    await kafka.start(leader);
    await run(300, 600);

    const log = await readRoomLog(config, { timeoutMs: 120_000 });
    const ids = log.map((e) => e.event.eventId);
    console.log(`appended ${acknowledged.size} records in ${900 - failures} transactions; ${failures} failed; the log holds ${log.length}`);
    expect(repeated(ids)).toEqual([]);
    expect(ids.filter((id) => failed.has(id))).toEqual([]);
    expect(new Set(ids)).toEqual(acknowledged);
    expect(acknowledged.size).toBeGreaterThan(600 * partitions);
  }, 600_000);
});
