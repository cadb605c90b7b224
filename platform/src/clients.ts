import { Kafka, logLevel, type EachBatchPayload, type LogEntry } from 'kafkajs';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { PlatformConfig } from './config.ts';
import { createLogger, type Logger } from './log.ts';

// Thin factories: one place that knows how each client is configured, so services and tests
// talk to the infrastructure the same way.

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
      log?.warn(`kafkajs: ${message}`, { namespace: entry.namespace, ...rest });
    },
  });
}

export function createPgPool(config: PlatformConfig, max = 10): pg.Pool {
  // search_path isolates the read models of one deployment (or one test file) in its schema.
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max,
    options: `-c search_path=${quoteIdent(config.pgSchema)}`,
  });
  // An idle connection that Postgres closes (a restart, a failover, an administrator) is an
  // 'error' event on the pool; unheard, it would end the process. The pool drops that client
  // and the next query opens a new one, so a Postgres outage is waited out, not fatal.
  pool.on('error', (error) => poolLog().warn('an idle Postgres connection was closed; the next query opens another', { error }));
  return pool;
}

let poolLogger: Logger | undefined;
const poolLog = (): Logger => (poolLogger ??= createLogger('postgres-pool'));

/** A Redis connection; `role` names it (after the Redis prefix) in CLIENT LIST, for operators and tests. */
export function createRedis(config: PlatformConfig, role?: string): Redis {
  // Auto-pipelining: commands issued in the same tick (a session check per request, say) share one socket write.
  return new Redis(config.redisUrl, {
    lazyConnect: false,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    ...(role ? { connectionName: `${config.redisPrefix}${role}`.replace(/\s/g, '_') } : {}),
  });
}

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
