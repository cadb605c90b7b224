import { performance } from 'node:perf_hooks';
import { Partitioners } from 'kafkajs';
import pg from 'pg';
import { infraUp, serviceEnv, startService, stopService } from '@chat/infra';
import { createKafka, ensureTopics, intFromEnv, loadConfig, quoteIdent, topicName, SERVICES, type PlatformConfig } from '@chat/platform';
import { EventCodec, type RoomDomainEvent } from '@chat/schemas';
import { memoryMiB } from './proc.ts';
import { measureRawLimits } from './raw-limits.ts';

// Time until ready and resident memory of a command service over a long log.
//
// Writes MESSAGES message events over ROOMS rooms (a RoomCreated each, then MessageSent with
// the room's next revisions) straight into a fresh, isolated topic with a plain bulk producer,
// all older than the idempotency window (30 days ago), then starts the command service alone
// and times it from spawn to /ready, reads its VmRSS/VmHWM at ready and 5 s later, stops it
// (SIGTERM) and does the same for a second start. The raw Kafka read rate (a plain kafkajs
// consumer over the same topic) and the infrastructure's raw limits stand beside it.
//
// Usage: ./chat bench:startup   (env: MESSAGES, ROOMS)

const MESSAGES = intFromEnv(process.env, 'MESSAGES', 1_000_000);
const ROOMS = intFromEnv(process.env, 'ROOMS', 1000);
const BATCH = 5000;

await infraUp();
const label = `bench_startup_${Date.now().toString(36)}`;
const config: PlatformConfig = { ...loadConfig(), topicPrefix: `${label}.`, pgSchema: label, redisPrefix: `${label}:` };
const kafka = createKafka(config, 'bench-startup');
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, config.topicPrefix);
const topic = topicName(config.topicPrefix, 'roomEvents');
try {
  const written = await writeLog();
  const kafkaRead = await readAll();
  const env = { ...serviceEnv(config), [SERVICES['command-service'].portVar]: String(intFromEnv(process.env, 'BENCH_PORT', 4101)) };
  const starts = [];
  for (const run of ['first start', 'second start']) {
    const spawned = performance.now();
    const service = await startService('command-service', env, `${label}.command-service`);
    const readyMs = Math.round(performance.now() - spawned);
    const pid = service.child.pid!;
    const atReady = memoryMiB(pid);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const settled = memoryMiB(pid);
    await stopService(service);
    starts.push({
      run,
      readyMs,
      eventsPerSecond: Math.round(written / (readyMs / 1000)),
      rssMiBAtReady: atReady.rss,
      rssMiB5sLater: settled.rss,
      peakRssMiB: settled.peak,
    });
  }
  console.log(
    JSON.stringify(
      {
        log: {
          messageEvents: MESSAGES,
          rooms: ROOMS,
          records: written,
          occurredAt: '30 days ago: outside the 7-day idempotency window',
          bulkWrite: written,
        },
        starts,
        kafkaPlainConsumerReadsPerSecond: kafkaRead,
        rawLimits: await measureRawLimits(config),
      },
      null,
      2,
    ),
  );
} finally {
  await admin
    .deleteTopics({ topics: [topicName(config.topicPrefix, 'roomEvents'), topicName(config.topicPrefix, 'userEvents')] })
    .catch(() => undefined);
  await admin.disconnect();
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(config.pgSchema)} CASCADE`);
  await client.end();
}

/** Writes the log with a plain bulk producer; returns how many records. */
async function writeLog(): Promise<number> {
  const codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
  await codec.registerAll();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const since = Date.now() - 30 * 24 * 3600_000;
  const roomIds = Array.from({ length: ROOMS }, () => crypto.randomUUID());
  const revisions = new Map<string, number>();
  let records = 0;
  const started = performance.now();
  const event = (i: number): RoomDomainEvent => {
    const roomId = roomIds[i % ROOMS]!;
    const revision = (revisions.get(roomId) ?? 0) + 1;
    revisions.set(roomId, revision);
    const base = { eventId: crypto.randomUUID(), occurredAt: since + i, actorId: 'bench', roomId, revision };
    if (revision === 1)
      return { ...base, type: 'RoomCreated', commandId: `room-${i}`, name: 'bench', topic: null, visibility: 'PUBLIC', kind: 'GROUP' };
    return { ...base, type: 'MessageSent', commandId: `m-${i}`, messageId: crypto.randomUUID(), body: `bulk message ${i}`, replyTo: null };
  };
  const total = MESSAGES + ROOMS;
  for (let from = 0; from < total; from += BATCH) {
    const events = Array.from({ length: Math.min(BATCH, total - from) }, (_, k) => event(from + k));
    const messages = await Promise.all(events.map(async (e) => ({ key: e.roomId, value: await codec.encode(e) })));
    await producer.send({ topic, acks: 1, messages });
    records += messages.length;
  }
  await producer.disconnect();
  console.error(`bulk write: ${records} records in ${Math.round((performance.now() - started) / 1000)} s`);
  return records;
}

/** How fast a plain consumer reads the whole topic (no decoding): the Kafka read limit here. */
async function readAll(): Promise<number> {
  const ends = await admin.fetchTopicOffsets(topic);
  const remaining = new Map(ends.filter((p) => BigInt(p.high) > 0n).map((p) => [p.partition, BigInt(p.high)]));
  const total = [...remaining.values()].reduce((a, b) => a + b, 0n);
  const consumer = kafka.consumer({ groupId: `${label}.reader` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const started = performance.now();
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (BigInt(batch.lastOffset()) + 1n >= (remaining.get(batch.partition) ?? 0n)) remaining.delete(batch.partition);
        if (remaining.size === 0) resolve();
      },
    });
  });
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  return Math.round(Number(total) / seconds);
}
