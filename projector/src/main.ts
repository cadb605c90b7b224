import {
  ClusterWatch,
  ReadModelControl,
  clusterCheckIntervalMs,
  bootService,
  bootContentKeys,
  closeServer,
  createPgPool,
  connectKafkaAdmin,
  createKafka,
  createRedis,
  createS3Client,
  intFromEnv,
  onShutdown,
  recordsBehind,
  sleep,
  startHttpServer,
  startInternalServer,
  topicName,
} from '@chat/platform';
import { EventCodec } from '@chat/schemas';
import { DeadLetterTopic } from './adapters/dead-letter-topic.ts';
import { RedisPublisher } from './adapters/redis-publisher.ts';
import { LiveProjector } from './app/live-projector.ts';
import { ObjectEraser } from './app/object-erasure.ts';
import { projectionsFor } from './projections.ts';

const { config, log, port, host, internalPort, internalHost } = bootService('projector');

const codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
const redis = createRedis(config);
const kafka = createKafka(config, 'projector', log);
// Kept connected: readiness asks it for the topics' end offsets.
const { admin, logId } = await connectKafkaAdmin(kafka, config.topicPrefix);
const deadLetters = new DeadLetterTopic(kafka, topicName(config.topicPrefix, 'deadLetters'));
await deadLetters.connect();
const publisher = new RedisPublisher(redis, config.redisPrefix, log, intFromEnv(process.env, 'TEST_PUBLISH_HOLD_MS', 0));
const control = new ReadModelControl(config);
await control.ensure();
// Message content arrives sealed: opened with the keys the command side keeps (platform/src/content-keys).
// Each partition batch in hand reads its keys at once (up to 18 at a time): enough connections that they rarely queue.
const keyPool = createPgPool(config, 6);
codec.openWith(await bootContentKeys(keyPool, config, log));
const projector = new LiveProjector({
  kafka,
  config,
  codec,
  publisher,
  deadLetters: deadLetters.send,
  control,
  logId,
  projections: projectionsFor(config),
  sessionTimeoutMs: intFromEnv(process.env, 'PROJECTOR_SESSION_TIMEOUT_MS', 10_000),
  log,
});
const stopFollowing = await projector.follow();
// Deleted messages' files leave the object store once their deletion is committed.
const s3 = createS3Client(config.objectStore);
const objectEraser = new ObjectEraser({
  pool: () => projector.activePool,
  store: config.objectStore,
  prefix: config.objectPrefix,
  s3,
  log,
});
objectEraser.start();
// Another log answering on the brokers' addresses (another cluster, a topic made again) stops all projection.
const clusterWatch = new ClusterWatch(admin, config.topicPrefix, logId, log, () => projector.haltAll());
clusterWatch.start(clusterCheckIntervalMs());
// And a log of this cluster that holds less than was read from it (a topic made again) stops its partitions.
const logEndWatch = setInterval(
  () => void projector.checkLogEnds(admin).catch((error: unknown) => log.debug('log ends not checked', { error })),
  clusterCheckIntervalMs(),
);
logEndWatch.unref();

// Ready while it projects: its consumer joined (or paused on purpose by a rebuild), Postgres
// answering, and the read models at most PROJECTOR_READY_MAX_BEHIND records behind the log
// (a new deployment is not ready until it has caught up). Redis is not needed to project:
// live notifications wait for it.
const maxBehind = intFromEnv(process.env, 'PROJECTOR_READY_MAX_BEHIND', 1000);
const caughtUp = async () => {
  if (projector.paused) return true;
  const behind = await projector.behind(admin);
  recordsBehind.set(behind);
  return behind <= maxBehind;
};
const server = await startHttpServer({
  port,
  host,
  ready: { kafka: () => projector.ready, postgres: () => control.ping(), 'caught-up': caughtUp, 'event-log': () => projector.logIntact },
});
// Metrics on the listener that is never published.
const internalServer = await startInternalServer({ port: internalPort, host: internalHost });
log.info('ready', { health: `http://127.0.0.1:${port}/readyz`, metrics: `http://127.0.0.1:${internalPort}/metrics` });

onShutdown(log, async () => {
  clusterWatch.stop();
  clearInterval(logEndWatch);
  await closeServer(server);
  await closeServer(internalServer);
  await objectEraser.stop();
  await stopFollowing();
  await deadLetters.disconnect();
  await admin.disconnect();
  // What is still queued goes out if Redis lets it within a moment; subscribers catch up otherwise.
  await Promise.race([publisher.flushed(), sleep(2000)]);
  redis.disconnect();
  await control.close();
  await keyPool.end();
  s3.destroy();
});
