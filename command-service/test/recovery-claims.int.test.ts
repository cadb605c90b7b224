import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { Admin } from 'kafkajs';
import {
  createKafka,
  createLogger,
  createPgPool,
  currentTrace,
  ensureTopics,
  loadConfig,
  migrate,
  quoteIdent,
  topicName,
  waitFor,
} from '@chat/platform';
import { EventCodec, type RoomDomainEvent } from '@chat/schemas';
import { KafkaAppender } from '../src/adapters/kafka-appender.ts';
import { PgSnapshots } from '../src/adapters/pg-snapshots.ts';
import { PgWriterClaims } from '../src/adapters/pg-writer-claims.ts';
import { Owners } from '../src/app/owners.ts';
import { PartitionOwner, type PartitionRestorer } from '../src/app/partition-owner.ts';
import { TransactionPump, type Appended, type Appender } from '../src/app/transaction-pump.ts';
import { removeAfterAll } from '../../test/src/leftovers.ts';

// A partition assigned while this instance's producer moves to a new generation (after a failed
// transaction) is claimed with whichever generation's id the appender names at that moment. The
// recovery renewed only the partitions owned when it began, so such a claim kept naming the old,
// fenced generation while the new one wrote: the next instance to take the partition fenced the
// old id and the new producer could still commit there. Real Kafka, registry and Postgres; the
// appender's open() is held until the test lets it go, so the assignment lands mid-recovery.

const name = `t_recovery_${Date.now().toString(36)}`;
const config = { ...loadConfig(), pgSchema: name, topicPrefix: `${name}.` };
removeAfterAll(name);
const topic = topicName(config.topicPrefix, 'roomEvents');
const log = createLogger('recovery-claims-test', 'warn');
const kafka = createKafka(config, 'recovery-claims-test');
let pool: pg.Pool;
let admin: Admin;
let codec: EventCodec;
const opened: KafkaAppender[] = [];

/** The real appender, whose next open() waits for `release()`. */
class HeldOpen implements Appender {
  private held: Promise<void> = Promise.resolve();
  release: () => void = () => undefined;
  readonly inner: KafkaAppender;
  constructor(inner: KafkaAppender) {
    this.inner = inner;
  }
  get transactionalId(): string {
    return this.inner.transactionalId;
  }
  holdNextOpen(): void {
    const gate = Promise.withResolvers<void>();
    this.held = gate.promise;
    this.release = gate.resolve;
  }
  async open(): Promise<void> {
    await this.held;
    await this.inner.open();
  }
  fence(transactionalId: string): Promise<void> {
    return this.inner.fence(transactionalId);
  }
  append(records: Appended[], floors: ReadonlyMap<number, bigint>): Promise<Map<number, bigint>> {
    return this.inner.append(records, floors);
  }
}

async function newAppender(): Promise<KafkaAppender> {
  const appender = new KafkaAppender(kafka, codec, topic, log);
  opened.push(appender);
  await appender.open();
  return appender;
}

function roomCreated(partition: number): Appended {
  const event: RoomDomainEvent = {
    type: 'RoomCreated',
    eventId: crypto.randomUUID(),
    occurredAt: Date.now(),
    actorId: crypto.randomUUID(),
    commandId: crypto.randomUUID(),
    roomId: crypto.randomUUID(),
    revision: 1,
    name: 'late writer',
    topic: null,
    visibility: 'PUBLIC',
    kind: 'GROUP',
  };
  return { event, partition, trace: currentTrace() };
}

beforeAll(async () => {
  pool = createPgPool(config, 4);
  await migrate(pool, config.pgSchema, { dir: new URL('../migrations/', import.meta.url), ledger: 'command_migrations' });
  admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config.topicPrefix);
  codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
  await codec.registerAll();
}, 120_000);

afterAll(async () => {
  for (const appender of opened) await appender.close();
  await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin?.disconnect();
  await pool?.query(`DROP SCHEMA IF EXISTS ${quoteIdent(config.pgSchema)} CASCADE`);
  await pool?.end();
});

describe('a partition assigned while the producer recovers', () => {
  it('ends up claimed by the generation that writes, so the next owner fences the producer that can still write', async () => {
    const claims = new PgWriterClaims(pool, topic);
    const snapshots = new PgSnapshots(pool, topic, 'test-cluster');
    // The test's partitions stay empty until the end: the tail is checked against the log's end.
    const restorer: PartitionRestorer = {
      loadSnapshot: (p) => snapshots.load(p),
      saveSnapshot: (p, snapshot) => snapshots.save(p, snapshot),
      readTail: async (p, state) => {
        const high = BigInt((await admin.fetchTopicOffsets(topic)).find((o) => o.partition === p)!.high);
        expect(high).toBe(state.nextOffset);
        return 0;
      },
    };
    const appender = new HeldOpen(await newAppender());
    const options = { log, idempotencyWindowMs: 3600_000, maxPendingPerPartition: 100, maxPendingPerRoom: 10, snapshotAfterRecords: 1000 };
    const owners: Owners = new Owners(
      (partition) =>
        new PartitionOwner(
          partition,
          {
            appender,
            claims,
            restorer,
            messages: { load: async () => null },
            schedule: () => pump.schedule(),
            lost: (o) => owners.lost(o),
          },
          options,
        ),
      log,
    );
    const pump = new TransactionPump(appender, () => owners.all(), log);
    const claimed = async () =>
      Object.fromEntries(
        (
          await pool.query<{ partition: number; transactional_id: string }>(
            `SELECT partition, transactional_id FROM ${quoteIdent(config.pgSchema)}.command_partition_writers WHERE topic = $1`,
            [topic],
          )
        ).rows.map((row) => [row.partition, row.transactional_id]),
      );

    owners.assigned([0]);
    // waitFor goes on until its probe gives something other than undefined: false would end it at once.
    await waitFor('partition 0 to serve', async () => owners.allServing || undefined, { timeoutMs: 30_000, intervalMs: 50 });
    const first = appender.transactionalId;
    expect(await claimed()).toEqual({ 0: first });

    // A transaction failed: the recovery starts, and its new producer is slow to open.
    appender.holdNextOpen();
    const recovery = pump.recover();
    // Meanwhile the group hands this instance partition 1 as well.
    owners.assigned([0, 1]);
    await waitFor('partition 1 to be claimed', async () => (await claimed())[1], { timeoutMs: 30_000, intervalMs: 50 });
    appender.release();
    await recovery;
    await waitFor('both partitions to serve', async () => owners.allServing || undefined, { timeoutMs: 30_000, intervalMs: 50 });

    const writing = appender.transactionalId;
    expect(writing).not.toBe(first);
    expect(await claimed()).toEqual({ 0: writing, 1: writing });

    // Another instance takes partition 1 and fences every writer its claim names: this
    // instance's producer, the one that still writes, must be among them.
    const next = await newAppender();
    const toFence = await claims.claim(1, next.transactionalId);
    expect(toFence).toContain(writing);
    for (const id of toFence) await next.fence(id);
    await expect(appender.append([roomCreated(1)], new Map([[1, 0n]]))).rejects.toThrow();
    await owners.releaseAll();
  });
});
