import type { IncomingMessage } from 'node:http';
import { createYoga } from 'graphql-yoga';
import { Partitioners } from 'kafkajs';
import {
  bootInstanceAuth,
  bootService,
  readInstanceCall,
  handBody,
  operationCaller,
  OPERATIONS_PER_BATCH,
  roomsPerUser,
  vouchedAddress,
  refuseInstanceCall,
  startInternalServer,
  useOperationMetrics,
  useOperationTracing,
  closeServer,
  connectKafkaAdmin,
  createKafka,
  createPgPool,
  bootContentKeys,
  followReadModels,
  graphqlLimits,
  GRAPHQL_LIMITS,
  createRedis,
  intFromEnv,
  JWKS_PATH,
  migrate,
  onShutdown,
  startHttpServer,
  topicName,
  waitFor,
  ClusterWatch,
  foreignLog,
  foreignLogReason,
  clusterCheckIntervalMs,
} from '@chat/platform';
import { EventCodec } from '@chat/schemas';
import { FORWARD_PATH, HttpForwarder, callerHeaders, credentialsOf, serveForwarded } from './adapters/http-forwarder.ts';
import { KafkaOwnership } from './adapters/kafka-ownership.ts';
import { serveSignOn } from './adapters/oidc-sign-on.ts';
import { KafkaAppender } from './adapters/kafka-appender.ts';
import { PgMemberships } from './adapters/pg-memberships.ts';
import { PgMessageFacts } from './adapters/pg-message-facts.ts';
import { PgSnapshots } from './adapters/pg-snapshots.ts';
import { PgWriterClaims } from './adapters/pg-writer-claims.ts';
import { ProjectionWatcher } from './adapters/projection-watcher.ts';
import { cacheTransactionCoordinators } from './adapters/kafka-coordinator-cache.ts';
import { CommandHandler } from './app/command-handler.ts';
import { Owners } from './app/owners.ts';
import { PartitionOwner } from './app/partition-owner.ts';
import { DEFAULT_TRANSACTION_INTERVAL_MS, TransactionPump } from './app/transaction-pump.ts';
import { schema } from './graphql/schema.ts';
import type { Context } from './graphql/builder.ts';
import { wireAccounts } from './wire-accounts.ts';
import { AccountDeletion } from './app/account-deletion.ts';
import { RoomRetention } from './app/retention.ts';
import { dataExportRemover } from './adapters/data-exports.ts';
import { RETENTION_SWEEP_PATH, serveRetentionSweep } from './adapters/http-retention.ts';
import { wireAttachments } from './wire-attachments.ts';

const { config, log, port, host, internalPort, internalHost } = bootService('command-service');
// Every caller of this service is another instance: the one endpoint (mutations, sign-on) on
// this port, a peer command service (forwarded commands, partition status) on the internal one.
const instanceAuth = bootInstanceAuth('command-service', log);
const env = (name: string, fallback: number) => intFromEnv(process.env, name, fallback);
const topic = topicName(config.topicPrefix, 'roomEvents');
// The URL of the internal listener, where other instances forward commands; behind NAT or in containers, set it.
const endpoint = process.env.COMMAND_ADVERTISED_URL ?? `http://127.0.0.1:${internalPort}`;

const codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
// The registry may still be starting (or briefly away): registration waits for it.
await waitFor('the schema registry to take the event schemas', async () => (await codec.registerAll(), true), {
  timeoutMs: 120_000,
  intervalMs: 1000,
});
const pool = createPgPool(config, 4);
await migrate(pool, config.pgSchema, { dir: new URL('../migrations/', import.meta.url), ledger: 'command_migrations' });
const kafka = createKafka(config, 'command-service', log);
// Two round trips fewer per transaction (see kafka-coordinator-cache.ts).
if (!cacheTransactionCoordinators(kafka)) log.warn('kafkajs internals differ: every transaction asks for its coordinator twice');
const { admin, logId } = await connectKafkaAdmin(kafka, config.topicPrefix);
const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
if (!metadata?.partitions.length) throw new Error(`topic ${topic} has no partitions; run infra:up`);
// The Java client's murmur2 partitioner, so every Kafka client agrees on a room's partition.
const partitioner = Partitioners.DefaultPartitioner();
// Remembered per room: kafkajs's murmur2 costs tens of microseconds a call.
const partitions = new Map<string, number>();
const partitionOf = (roomId: string) => {
  let partition = partitions.get(roomId);
  if (partition === undefined) {
    if (partitions.size >= 100_000) partitions.clear();
    partition = partitioner({ topic, partitionMetadata: metadata.partitions, message: { key: roomId, value: null } });
    partitions.set(roomId, partition);
  }
  return partition;
};

const redis = createRedis(config);
// Message content and profiles are sealed under keys in Postgres, wrapped by the master keys (CONTENT_MASTER_KEYS).
const contentKeys = await bootContentKeys(pool, config, log);
const {
  accounts,
  limits,
  keyRing,
  signOn,
  authenticate,
  stop: stopAccounts,
} = await wireAccounts({ config, pool, kafka, codec, redis, log, contentKeys, endpoint: `http://127.0.0.1:${port}` });

const watcher = new ProjectionWatcher(config, pool, topic, log);
await watcher.start();
const snapshots = new PgSnapshots(pool, topic, logId);
const ownership = new KafkaOwnership(kafka, codec, {
  topic,
  groupId: `${config.topicPrefix}command-service`,
  endpoint,
  sessionTimeoutMs: env('COMMAND_SESSION_TIMEOUT_MS', 10_000),
  log,
});
const appender = new KafkaAppender(kafka, codec, topic, log, contentKeys);
await waitFor('a transactional producer', async () => (await appender.open(), true), { timeoutMs: 120_000, intervalMs: 1000 });
const claims = new PgWriterClaims(pool, topic);
// Facts of old messages come from the read models, wherever a rebuild has put them.
const readModels = await followReadModels(config, log, 2);
const messages = new PgMessageFacts(readModels.pool);
const memberships = new PgMemberships(readModels.pool, roomsPerUser());
const attachments = wireAttachments(config, pool, readModels.pool, log);
const restorer = {
  loadSnapshot: (p: number) => snapshots.load(p),
  saveSnapshot: (p: number, snapshot: Parameters<PgSnapshots['save']>[1]) => snapshots.save(p, snapshot),
  readTail: (p: number, state: Parameters<KafkaOwnership['readTail']>[1]) => ownership.readTail(p, state),
};
const ownerOptions = {
  log,
  idempotencyWindowMs: env('IDEMPOTENCY_WINDOW_MS', 7 * 24 * 3600_000),
  maxPendingPerPartition: env('MAX_PENDING_PER_PARTITION', 2000),
  maxPendingPerRoom: env('MAX_PENDING_PER_ROOM', 200),
  snapshotAfterRecords: env('SNAPSHOT_AFTER_RECORDS', 10_000),
};
const owners: Owners = new Owners(
  (partition) =>
    new PartitionOwner(
      partition,
      { appender, claims, restorer, messages, schedule: () => pump.schedule(), lost: (owner) => owners.lost(owner) },
      ownerOptions,
    ),
  log,
);
// State folded from another log than the one answering (idempotency keys included)
// must not decide anything here, nor may this one's be folded on top of it: an operator chooses.
const foreign = await foreignLog(config, logId);
if (foreign) {
  log.error(foreign);
  owners.haltAll(foreign);
}
// Another log answering on the brokers' addresses (another cluster, a topic made again) halts every partition, owned or to come.
const clusterWatch = new ClusterWatch(admin, config.topicPrefix, logId, log, (now) => owners.haltAll(foreignLogReason(logId, now)));
clusterWatch.start(clusterCheckIntervalMs());
// Transactions wait for one another only under load (see TransactionPump): a lone command at
// 100/s starts its transaction at once, while at 1,000/s at most about 66 start a second.
const pump = new TransactionPump(appender, () => owners.all(), log, env('TRANSACTION_INTERVAL_MS', DEFAULT_TRANSACTION_INTERVAL_MS));
const handler = new CommandHandler(
  { partitionOf, localOwner: (partition) => owners.get(partition) },
  new HttpForwarder(ownership, endpoint, instanceAuth, log),
  watcher,
  { appendTimeoutMs: env('APPEND_TIMEOUT_MS', 10_000), visibilityTimeoutMs: env('VISIBILITY_TIMEOUT_MS', 5_000) },
);

const accountDeletion = new AccountDeletion({
  accounts,
  keys: contentKeys,
  rooms: memberships,
  handler,
  exports: dataExportRemover(redis, config.redisPrefix, config.objectStore, config.objectPrefix),
});
const retention = new RoomRetention({
  rooms: function* () {
    for (const owner of owners.all()) yield* owner.roomStates();
  },
  keys: contentKeys,
  handler,
  log,
});

// No playground: only instances, which sign every request, can call this endpoint.
const yoga = createYoga<{ req: IncomingMessage }>({
  schema,
  graphiql: false,
  // No browser ever calls it: no CORS answer at all.
  cors: false,
  // Mutations come here unchecked by the one endpoint: Armor's shape limits are the ones that
  // hold them, and they bound the price too (this schema has no lists), so none is computed.
  plugins: [...graphqlLimits(process.env, { price: false }), useOperationMetrics(), useOperationTracing()],
  // The body is read (at most GRAPHQL_LIMITS.bytes) with the instance's signature, before Yoga.
  maxRequestBodySize: false,
  // An instance may send the operations of many callers in one signed request, each naming its
  // caller in its extensions (OperationCaller); a request without one speaks for one caller in
  // its headers, as a test or a tool calling this service directly does.
  batching: { limit: OPERATIONS_PER_BATCH },
  context: async ({ request, req, params }): Promise<Context> => {
    const named = operationCaller(params.extensions);
    const headers = named ? callerHeaders(named) : request.headers;
    return {
      caller: await authenticate(headers),
      // The end user's address as the one endpoint saw it (signed), for per-address limits.
      address: named?.clientAddress ?? vouchedAddress(req),
      arrival: { credentials: credentialsOf(headers) },
      handler,
      commandLimit: (userId) => limits.command(userId),
      accounts,
      accountDeletion,
      attachments: attachments.attachments,
      memberships,
      log,
    };
  },
});

const server = await startHttpServer({
  port,
  host,
  ready: {
    kafka: () => ownership.isJoined,
    partitions: () => owners.allServing,
    // Down for good once a partition found a log other than the one it was built from (see
    // LogMismatch), or another log answers (see ClusterWatch).
    'event-log': () => !owners.anyHalted,
    postgres: () => pool.query('SELECT 1'),
    redis: () => redis.ping(),
  },
  handler: (req, res) => {
    const path = req.url?.split('?')[0];
    // The public keys are public: the query service (and anyone) verifies tokens with them.
    if (path === JWKS_PATH) {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' });
      return void res.end(JSON.stringify(keyRing.jwks()));
    }
    void readInstanceCall(instanceAuth, req, GRAPHQL_LIMITS.bytes).then((call) => {
      if (!call.ok) return refuseInstanceCall(res, call.status, call.message);
      if (serveSignOn(signOn, req, res)) return;
      handBody(req, call.body);
      return yoga(req, res);
    });
  },
});
const internalServer = await startInternalServer({
  port: internalPort,
  host: internalHost,
  handler: (req, res) => {
    const path = req.url?.split('?')[0];
    if (path === FORWARD_PATH) return void serveForwarded(handler, authenticate, instanceAuth, req, res);
    if (path === RETENTION_SWEEP_PATH) return void serveRetentionSweep(retention, instanceAuth, req, res, log);
    if (path === '/partitions') {
      return void readInstanceCall(instanceAuth, req, 0).then((call) => {
        if (!call.ok) return refuseInstanceCall(res, call.status, call.message);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(owners.describe()));
      });
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
  },
});
await ownership.start(owners);
const upkeep = setInterval(() => void owners.maintain(), env('SNAPSHOT_INTERVAL_MS', 30_000));
const retentionSweeps = setInterval(
  () => void retention.sweep(Date.now()).catch((error: unknown) => log.warn('retention sweep failed', { error })),
  env('RETENTION_SWEEP_INTERVAL_MS', 10 * 60_000),
);
log.info('listening', { url: `${endpoint}${yoga.graphqlEndpoint}` });

onShutdown(log, async () => {
  clearInterval(upkeep);
  clearInterval(retentionSweeps);
  attachments.stop();
  clusterWatch.stop();
  await closeServer(server);
  await closeServer(internalServer);
  await owners.releaseAll();
  await appender.close();
  await ownership.stop();
  await watcher.stop();
  await stopAccounts();
  redis.disconnect();
  await readModels.stop();
  await admin.disconnect();
  await pool.end();
});
