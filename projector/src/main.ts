import {
  bootService,
  closeServer,
  createKafka,
  createPgPool,
  createRedis,
  intFromEnv,
  onShutdown,
  sleep,
  startHttpServer,
  topicName,
} from '@chat/platform';
import { EventCodec } from '@chat/schemas';
import { bindToCluster } from './adapters/cluster-guard.ts';
import { migrate } from './adapters/migrate.ts';
import { DeadLetterTopic } from './adapters/dead-letter-topic.ts';
import { RedisPublisher } from './adapters/redis-publisher.ts';
import { runProjector } from './app/consume.ts';
import { projectionsFor } from './projections.ts';

const { config, log, port, host } = bootService('projector');

const pool = createPgPool(config, 6);
const applied = await migrate(pool, config.pgSchema);
if (applied.length > 0) log.info('migrated', { schema: config.pgSchema, applied });

const codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
const redis = createRedis(config);
const kafka = createKafka(config, 'projector', log);
const admin = kafka.admin();
await admin.connect();
const { clusterId } = await admin.describeCluster();
await admin.disconnect();
await bindToCluster(pool, config.pgSchema, clusterId, log);
// The session timeout bounds how long a crashed projector's partitions wait for a new owner.
const consumer = kafka.consumer({
  groupId: `${config.topicPrefix}projector`,
  sessionTimeout: intFromEnv(process.env, 'PROJECTOR_SESSION_TIMEOUT_MS', 10_000),
  heartbeatInterval: 1_000,
});
let joined = false;
consumer.on(consumer.events.GROUP_JOIN, () => {
  joined = true;
});
await consumer.connect();
const projections = projectionsFor(config.topicPrefix);
const deadLetters = new DeadLetterTopic(kafka, topicName(config.topicPrefix, 'deadLetters'));
await deadLetters.connect();
const publisher = new RedisPublisher(redis, config.redisPrefix, log, intFromEnv(process.env, 'TEST_PUBLISH_HOLD_MS', 0));
await runProjector({ consumer, pool, codec, publisher, deadLetters: deadLetters.send, log }, projections);

const server = await startHttpServer({ port, host, ready: () => joined });
log.info('projecting', {
  topics: Object.keys(projections),
  schema: config.pgSchema,
  health: `http://127.0.0.1:${port}/ready`,
});

onShutdown(log, async () => {
  await closeServer(server);
  await consumer.disconnect();
  await deadLetters.disconnect();
  // What is still queued goes out if Redis lets it within a moment; subscribers catch up otherwise.
  await Promise.race([publisher.flushed(), sleep(2000)]);
  redis.disconnect();
  await pool.end();
});
