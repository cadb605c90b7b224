import { performance } from 'node:perf_hooks';
import { Partitioners, type Admin, type Kafka } from 'kafkajs';
import pg from 'pg';
import {
  TOPICS,
  contentKeysFrom,
  createKafka,
  createPgPool,
  ensureTopics,
  loadConfig,
  migrate,
  quoteIdent,
  topicName,
  type PlatformConfig,
  type TopicKey,
} from '@chat/platform';
import { EventCodec, sealContent, type RoomDomainEvent } from '@chat/schemas';

// A long room log written straight into a topic with a plain bulk producer: ROOMS rooms, a
// RoomCreated each, then MESSAGES MessageSent spread over them round-robin, each with its
// room's next revision, `ageMs` old. For benchmarks that need history without the platform
// writing it one command at a time. `sealed`: message content sealed as the command service seals
// it, with keys in the run's schema under this machine's master keys (so the services the
// benchmark starts open it); otherwise in the clear, as events written before sealing.

const BATCH = 5000;

export interface IsolatedRun {
  /** Names this run's topic prefix, Postgres schema (and the ones made beside it) and Redis prefix. */
  label: string;
  config: PlatformConfig;
  kafka: Kafka;
  admin: Admin;
  /** The room-events topic of this run. */
  topic: string;
  /** Deletes the run's topics and every schema named after it. */
  cleanUp(): Promise<void>;
}

/** A benchmark's own topics, schema and prefixes, so it neither sees nor leaves behind anyone's data. */
export async function isolatedRun(name: string): Promise<IsolatedRun> {
  const label = `bench_${name}_${Date.now().toString(36)}`;
  const config: PlatformConfig = { ...loadConfig(), topicPrefix: `${label}.`, pgSchema: label, redisPrefix: `${label}:` };
  const kafka = createKafka(config, `bench-${name}`);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config.topicPrefix);
  const cleanUp = async () => {
    const topics = (Object.keys(TOPICS) as TopicKey[]).map((key) => topicName(config.topicPrefix, key));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    const db = new pg.Client({ connectionString: config.databaseUrl });
    await db.connect();
    const { rows } = await db.query<{ name: string }>('SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)', [label]);
    for (const { name: schema } of rows) await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await db.end();
  };
  return { label, config, kafka, admin, topic: topicName(config.topicPrefix, 'roomEvents'), cleanUp };
}

export async function writeMessageLog(
  kafka: Kafka,
  config: PlatformConfig,
  topic: string,
  { messages, rooms, ageMs, sealed = false }: { messages: number; rooms: number; ageMs: number; sealed?: boolean },
): Promise<number> {
  const codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
  await codec.registerAll();
  const keyPool = sealed ? createPgPool(config, 2) : undefined;
  if (keyPool)
    await migrate(keyPool, config.pgSchema, {
      dir: new URL('../../command-service/migrations/', import.meta.url),
      ledger: 'command_migrations',
    });
  const keys = keyPool && contentKeysFrom(keyPool, config);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const since = Date.now() - ageMs;
  const roomIds = Array.from({ length: rooms }, () => crypto.randomUUID());
  const revisions = new Map<string, number>();
  let records = 0;
  const started = performance.now();
  const event = (i: number): RoomDomainEvent => {
    const roomId = roomIds[i % rooms]!;
    const revision = (revisions.get(roomId) ?? 0) + 1;
    revisions.set(roomId, revision);
    const base = { eventId: crypto.randomUUID(), occurredAt: since + i, actorId: 'bench', roomId, revision };
    if (revision === 1)
      return { ...base, type: 'RoomCreated', commandId: `room-${i}`, name: 'bench', topic: null, visibility: 'PUBLIC', kind: 'GROUP' };
    return {
      ...base,
      type: 'MessageSent',
      commandId: `m-${i}`,
      messageId: crypto.randomUUID(),
      body: `bulk message ${i}`,
      replyTo: null,
      format: 'PLAIN',
      attachments: [],
    };
  };
  const total = messages + rooms;
  try {
    for (let from = 0; from < total; from += BATCH) {
      const events = Array.from({ length: Math.min(BATCH, total - from) }, (_, k) => event(from + k));
      const values = await Promise.all(
        events.map(async (e) => ({ key: e.roomId, value: await codec.encode(keys ? await sealContent(e, keys) : e) })),
      );
      await producer.send({ topic, acks: 1, messages: values });
      records += values.length;
    }
  } finally {
    await producer.disconnect();
    await keyPool?.end();
  }
  console.error(`bulk write: ${records} records in ${Math.round((performance.now() - started) / 1000)} s`);
  return records;
}
