import { performance } from 'node:perf_hooks';
import { freePort, infraUp, serviceEnv, startService, stopService } from '@chat/infra';
import { intFromEnv, SERVICES } from '@chat/platform';
import { isolatedRun, writeMessageLog } from './bulk-log.ts';
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

await infraUp();
const { label, config, kafka, admin, topic, cleanUp } = await isolatedRun('startup');
try {
  const written = await writeMessageLog(kafka, config, topic, { messages: MESSAGES, rooms: ROOMS, ageMs: 30 * 24 * 3600_000 });
  const kafkaRead = await readAll();
  // Free ports for both listeners (4101, taken before, is the command service's own internal port).
  const env = {
    ...serviceEnv(config),
    [SERVICES['command-service'].portVar]: String(await freePort()),
    COMMAND_INTERNAL_PORT: String(await freePort()),
  };
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
  await cleanUp();
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
