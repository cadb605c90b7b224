import { Kafka, logLevel, type Admin, type EachBatchPayload, type LogEntry } from 'kafkajs';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { PlatformConfig } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { readLogId } from './log-identity.ts';
import { waitFor } from './wait.ts';

// Thin factories: one place that knows how each client is configured, so services and tests
// talk to the infrastructure the same way.

/**
 * kafkajs warnings that do not apply to how this project uses it, dropped so that the log's
 * warnings mean something. Bounded retries on an idempotent producer: ours are transactional
 * (see kafka-appender.ts), and a send that gives up aborts its transaction, so its records are
 * neither committed twice nor half; the commands are answered UNAVAILABLE and retried.
 */
const HARMLESS_KAFKAJS_WARNINGS = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

/**
 * kafkajs warnings of what happens in the normal course, logged at info: a consumer group
 * rebalancing when a member joins or leaves (a heartbeat answered REBALANCE_IN_PROGRESS, then
 * the rejoin), and a transactional producer initialised while the broker still ends the
 * transaction of the one it fences (CONCURRENT_TRANSACTIONS, retried by kafkajs).
 */
const ROUTINE_KAFKAJS_ERRORS = new Set([
  'The group is rebalancing, so a rejoin is needed',
  'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
]);
const ROUTINE_KAFKAJS_MESSAGES = new Set(['The group is rebalancing, re-joining']);

export function createKafka(config: PlatformConfig, clientId: string, log?: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers: config.kafkaBrokers,
    // Fail fast when the broker is absent: callers retry at their own level.
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 200 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      if (HARMLESS_KAFKAJS_WARNINGS.has(message)) return;
      const routine = ROUTINE_KAFKAJS_MESSAGES.has(message) || ROUTINE_KAFKAJS_ERRORS.has(String(rest.error));
      log?.[routine ? 'info' : 'warn'](`kafkajs: ${message}`, { namespace: entry.namespace, ...rest });
    },
  });
}

/**
 * A connected admin client and the identity of the event log it reached (see log-identity.ts):
 * the event topics must exist, as infra:up makes them. Kafka may be starting, or have
 * a node down that kafkajs keeps asking first: a service waits for it (two minutes, as for the
 * registry) rather than exit and lean on a supervisor.
 */
export async function connectKafkaAdmin(kafka: Kafka, topicPrefix: string): Promise<{ admin: Admin; logId: string }> {
  const admin = kafka.admin();
  const logId = await waitFor(
    'Kafka and its event topics',
    async () => {
      await admin.connect();
      return readLogId(admin, topicPrefix);
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  return { admin, logId };
}

/**
 * `pipeline`: pg's pipeline mode, for a pool whose transactions send statements together
 * (QueryFlight); cursors and the `rows` option do not work on it.
 */
export function createPgPool(config: PlatformConfig, max = 10, { pipeline = false } = {}): pg.Pool {
  // search_path isolates the read models of one deployment (or one test file) in its schema.
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max,
    options: `-c search_path=${quoteIdent(config.pgSchema)}`,
    pipeline,
  });
  // A connection that Postgres closes (a restart, a failover, an administrator) is an 'error'
  // event on its client; unheard, it would end the process. pg-pool hears it only while the
  // client is idle (and re-emits it on the pool), not while it is checked out and held between
  // two statements of a transaction. So every client gets a listener of its own: an idle one is
  // dropped and the next query opens another; a held one's next statement fails, as an outage
  // its caller waits out.
  pool.on('error', () => undefined); // logged by the client's own listener
  pool.on('connect', (client) =>
    client.on('error', (error) => poolLog().warn('a Postgres connection was closed; the work on it fails and is retried', { error })),
  );
  return pool;
}

let poolLogger: Logger | undefined;
const poolLog = (): Logger => (poolLogger ??= createLogger('postgres-pool'));

/** A Redis connection; `role` names it (after the Redis prefix) in CLIENT LIST, for operators and tests. */
export function createRedis(config: PlatformConfig, role?: string): Redis {
  // Auto-pipelining: commands issued in the same tick (a session check per request, say) share one socket write.
  const redis = new Redis(config.redisUrl, {
    lazyConnect: false,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    ...(role ? { connectionName: `${config.redisPrefix}${role}`.replace(/\s/g, '_') } : {}),
  });
  // ioredis reconnects by itself; unheard, each failed attempt printed "[ioredis] Unhandled
  // error event" to stderr. One warning per outage, and one line when it is back.
  let down = false;
  redis.on('error', (error) => {
    if (down) return;
    down = true;
    redisLog().warn('lost the Redis connection; reconnecting', { role: role ?? 'main', error });
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    redisLog().info('the Redis connection is back', { role: role ?? 'main' });
  });
  return redis;
}

let redisLogger: Logger | undefined;
const redisLog = (): Logger => (redisLogger ??= createLogger('redis'));

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * For waiting inside a kafkajs batch handler: keeps the group session alive while the
 * consumer runs, and answers false once it is stopping so the wait can end.
 */
export function keepWaitingWhileRunning({ heartbeat, isRunning }: Pick<EachBatchPayload, 'heartbeat' | 'isRunning'>) {
  return async (): Promise<boolean> => {
    if (!isRunning()) return false;
    await heartbeat();
    return true;
  };
}
