import { performance } from 'node:perf_hooks';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { freePort, infraUp, serviceEnv, startService, stopService } from '@chat/infra';
import {
  ReadModelControl,
  bootContentKeys,
  createLogger,
  createPgPool,
  intFromEnv,
  quoteIdent,
  readLogId,
  sleep,
  type PlatformConfig,
} from '@chat/platform';
import { EventCodec } from '@chat/schemas';
import { rebuildReadModels, type Progress } from '../../projector/src/app/rebuild.ts';
import { projectionsFor } from '../../projector/src/projections.ts';
import { isolatedRun, writeMessageLog } from './bulk-log.ts';
import { measureRawLimits } from './raw-limits.ts';

// Projection throughput over a long log, beside the raw batched-insert rate of Postgres.
//
// Writes MESSAGES message events over ROOMS rooms into a fresh, isolated topic (bulk producer),
// then: (0) reads and decodes the whole log with a bare kafkajs consumer, writing nothing (the
// ceiling of any projector built on kafkajs and this codec here); (1) starts the live projector alone and times it from its first checkpoint to the end
// of the log (its catch-up rate, batches as they come); (2) runs `./chat rebuild` (in-process)
// over the same log into a new schema, timing the catch-up stage, the pause and the parity
// check. Then the raw limits of Kafka, Postgres and Redis in the same run.
//
// SEALED=1 (the default) writes message content sealed, as the platform writes it, so every
// projection opens it (one read of the key tables per batch); SEALED=0 in the clear, to compare.
//
// Usage: ./chat bench:rebuild   (env: MESSAGES, ROOMS, SEALED)

const MESSAGES = intFromEnv(process.env, 'MESSAGES', 1_000_000);
const ROOMS = intFromEnv(process.env, 'ROOMS', 1000);
const SEALED = intFromEnv(process.env, 'SEALED', 1) === 1;

await infraUp();
const { label, config, kafka, admin, topic, cleanUp } = await isolatedRun('rebuild');
const db = new pg.Client({ connectionString: config.databaseUrl });
await db.connect();
const keyPool = createPgPool(config, 2);
try {
  const records = await writeMessageLog(kafka, config, topic, { messages: MESSAGES, rooms: ROOMS, ageMs: 3600_000, sealed: SEALED });

  const readOnly = await readAndDecode(kafka, config, topic, records);
  console.error(`read and decode only: ${readOnly.eventsPerSecond} events/s`);

  // (1) The live projector, from an empty schema to the end of the log.
  const projected = async () =>
    Number(
      (
        await db.query(`SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM ${quoteIdent(label)}.projection_checkpoints`).catch(() => ({
          rows: [{ n: 0 }],
        }))
      ).rows[0].n,
    );
  // Watched while it starts: its readiness waits until it has nearly caught up, so timing from
  // when startService resolves saw the log already projected (and printed 0 events/s).
  const starting = startService('projector', {
    ...serviceEnv(config),
    // Free ports, for both listeners: 4103, taken before, is the projector's own internal port.
    PROJECTOR_PORT: String(await freePort()),
    PROJECTOR_INTERNAL_PORT: String(await freePort()),
  });
  let first: { at: number; done: number } | undefined;
  for (;;) {
    const done = await projected();
    if (!first && done > 0) first = { at: performance.now(), done };
    if (done >= records) break;
    await sleep(200);
  }
  const projector = await starting;
  const liveSeconds = (performance.now() - first!.at) / 1000;
  const live = {
    events: records - first!.done,
    seconds: round(liveSeconds),
    eventsPerSecond: Math.round((records - first!.done) / liveSeconds),
  };
  console.error(`live projector: ${live.eventsPerSecond} events/s`);

  // (2) A rebuild of the same log while that projector stays live.
  const progress: (Progress & { at: number })[] = [];
  const started = performance.now();
  const outcome = await rebuildReadModels(
    {
      kafka,
      config,
      codec: new EventCodec(config.schemaRegistryUrl, config.topicPrefix).openWith(
        await bootContentKeys(keyPool, config, createLogger('bench-rebuild', 'warn')),
      ),
      control: new ReadModelControl(config),
      logId: await readLogId(admin, config.topicPrefix),
      projections: projectionsFor(config),
      log: createLogger('bench-rebuild', process.env.LOG_LEVEL ?? 'warn'),
      onProgress: (p) => progress.push({ ...p, at: performance.now() }),
    },
    'rebuild',
  );
  const total = (performance.now() - started) / 1000;
  await stopService(projector);
  if (!outcome.switched) throw new Error(`rebuild refused: ${JSON.stringify(outcome.differs)}`);
  const catchUpSeconds = total - (outcome.pausedMs ?? 0) / 1000;
  // The bulk load: from the start to the moment the deferred indexes were begun.
  const indexing = progress.find((p) => p.stage === 'creating indexes');
  const afterIndexing = progress.find((p) => p.at > (indexing?.at ?? Infinity) && p.stage === 'catching up');
  const loadSeconds = ((indexing?.at ?? performance.now()) - started) / 1000;
  console.log(
    JSON.stringify(
      {
        log: { messageEvents: MESSAGES, rooms: ROOMS, records, sealed: SEALED },
        readAndDecodeOnly: readOnly,
        liveProjector: live,
        rebuild: {
          events: outcome.events,
          seconds: round(total),
          eventsPerSecond: Math.round(outcome.events / catchUpSeconds),
          bulkLoad: {
            events: indexing?.done,
            seconds: round(loadSeconds),
            eventsPerSecond: Math.round((indexing?.done ?? 0) / loadSeconds),
          },
          creatingIndexesSeconds: indexing && afterIndexing ? round((afterIndexing.at - indexing.at) / 1000) : null,
          pausedMs: outcome.pausedMs,
          pause: outcome.pause,
          parity: 'equal',
        },
        rawLimits: await measureRawLimits(config),
      },
      null,
      2,
    ),
  );
} finally {
  await db.end();
  await keyPool.end();
  await cleanUp();
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}

/** Every record of `topic` fetched and decoded as the projector would, and nothing written. */
async function readAndDecode(kafka: Kafka, config: PlatformConfig, topic: string, records: number) {
  const codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
  const consumer = kafka.consumer({ groupId: `${config.topicPrefix}read-only`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let decoded = 0;
  let started = 0;
  const done = Promise.withResolvers<void>();
  const keepWaiting = () => Promise.resolve(true);
  await consumer.run({
    partitionsConsumedConcurrently: 12,
    eachBatch: async ({ batch }) => {
      started ||= performance.now();
      for (const message of batch.messages) {
        const outcome = await codec.decodeRecord(message.value, keepWaiting);
        if (!('event' in outcome)) throw new Error(`undecodable: ${outcome.undecodable}`);
        decoded++;
      }
      if (decoded >= records) done.resolve();
    },
  });
  await done.promise;
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  return { events: decoded, seconds: round(seconds), eventsPerSecond: Math.round(decoded / seconds) };
}
