import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { createKafka, createLogger, currentTrace, ensureTopics, loadConfig, sleep, topicName, waitFor } from '@chat/platform';
import { EventCodec, type RoomDomainEvent } from '@chat/schemas';
import { KafkaAppender } from '../src/adapters/kafka-appender.ts';
import { KafkaOwnership } from '../src/adapters/kafka-ownership.ts';
import { PartitionState } from '../src/app/partition-state.ts';
import { removeAfterAll } from '../../test/src/leftovers.ts';

// Two tail reads of one partition at once, on the real broker: an owner released while it
// restored (its partition moved away and back) reads late, after the new owner began its own
// read. The ownership kept one read per partition and the later one replaced the earlier,
// which then never resolved: the new owner's restore waited for good and its partition never
// served. Now the earlier read fails (its restore retries if still wanted) and the later one
// folds the whole tail.

const prefix = `t_tails_${Date.now().toString(36)}.`;
removeAfterAll(prefix);
const config = { ...loadConfig(), topicPrefix: prefix };
const topic = topicName(prefix, 'roomEvents');
const log = createLogger('tail-reads-test', 'warn');
const kafka = createKafka(config, 'tail-reads-test');
let admin: Admin;
let codec: EventCodec;
let ownership: KafkaOwnership;
let appender: KafkaAppender;

function roomCreated(n: number): RoomDomainEvent {
  return {
    type: 'RoomCreated',
    eventId: crypto.randomUUID(),
    occurredAt: Date.now(),
    actorId: crypto.randomUUID(),
    commandId: `create-${n}`,
    roomId: crypto.randomUUID(),
    revision: 1,
    name: `room ${n}`,
    topic: null,
    visibility: 'PUBLIC',
    kind: 'GROUP',
  };
}

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, prefix);
  codec = new EventCodec(config.schemaRegistryUrl, prefix);
  await codec.registerAll();
  appender = new KafkaAppender(kafka, codec, topic, log);
  await appender.open();
  ownership = new KafkaOwnership(kafka, codec, {
    topic,
    groupId: `${prefix}command-service`,
    endpoint: 'http://127.0.0.1:1',
    sessionTimeoutMs: 10_000,
    log,
  });
}, 120_000);

afterAll(async () => {
  await ownership?.stop();
  await appender?.close();
  await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin?.disconnect();
});

describe('tail reads of one partition', () => {
  it('settle when a second begins before the first ended: the first fails, the second folds the whole tail', async () => {
    await appender.append(
      [0, 1, 2].map((n) => ({ event: roomCreated(n), partition: 0, trace: currentTrace() })),
      new Map([[0, 0n]]),
    );
    let assigned: number[] = [];
    await ownership.start({ assigned: (partitions) => (assigned = partitions) });
    await waitFor('the group to assign partition 0', async () => assigned.includes(0) || undefined, { timeoutMs: 30_000, intervalMs: 100 });

    const states = [new PartitionState(), new PartitionState()];
    const reads = Promise.allSettled(states.map((state) => ownership.readTail(0, state)));
    const settled = await Promise.race([reads, sleep(20_000).then(() => 'still waiting' as const)]);
    expect(settled).not.toBe('still waiting');
    // Whichever began second folds the tail (three records, and past its commit marker); the other failed.
    const results = settled as PromiseSettledResult<number>[];
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    expect(results[winner]).toEqual({ status: 'fulfilled', value: 3 });
    expect(states[winner]!.nextOffset).toBe(4n);
    expect(states[winner]!.rooms.size).toBe(3);
    // Nothing is left behind: the next read of the partition starts and ends.
    expect(await ownership.readTail(0, new PartitionState())).toBe(3);
  });
});
