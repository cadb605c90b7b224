import { bootContentKeys, commandArgs, createLogger, createPgPool, createRedis, loadConfig } from '@chat/platform';
import { EventCodec } from '@chat/schemas';
import { RedisPublisher } from './adapters/redis-publisher.ts';
import { listLetters, redrive, type Position } from './app/redrive.ts';
import { projectionsFor } from './projections.ts';

// ./chat dead-letters list [--all] [--json]
//   the records the projector set aside (unresolved ones; --all: resolved ones too)
// ./chat dead-letters retry (--all | TOPIC:PARTITION:OFFSET ...) [--json]
//   applies them again after a fix; exit 0 when every one applied, 2 when some still fail.
// Reads the same environment as the services (DATABASE_URL, PG_SCHEMA, SCHEMA_REGISTRY_URL,
// TOPIC_PREFIX, REDIS_URL, REDIS_PREFIX).

const USAGE = 'usage: ./chat dead-letters list [--all] [--json] | retry (--all | TOPIC:PARTITION:OFFSET ...) [--json]';
const REGISTRY_WAIT_MS = 30_000;

class UsageError extends Error {}

const { positionals, values } = commandArgs(
  { allowPositionals: true, options: { all: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } },
  USAGE,
);
const [command, ...targets] = positionals;
if (command !== 'list' && command !== 'retry') {
  console.error(USAGE);
  process.exit(64);
}
const config = loadConfig();
const pool = createPgPool(config, 2);
try {
  if (command === 'list') {
    const letters = await listLetters(pool, { includeResolved: values.all });
    if (values.json) console.log(JSON.stringify(letters, null, 2));
    else if (letters.length === 0) console.log('no dead letters');
    else {
      for (const l of letters) {
        const state = l.resolvedAt ? `resolved ${l.resolvedAt.toISOString()}` : `retries ${l.retries}`;
        console.log(`${l.topic}:${l.partition}:${l.offset}  ${l.recordedAt.toISOString()}  ${state}  ${l.lastRetryError ?? l.error}`);
      }
      console.log('what each reason means, and when a retry helps: README, "What is normal, what to do"');
    }
  } else {
    const positions = values.all ? 'all' : targets.map(parsePosition);
    if (positions !== 'all' && positions.length === 0) throw new UsageError(USAGE);
    const codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
    codec.openWith(await bootContentKeys(pool, config, createLogger('dead-letters', process.env.LOG_LEVEL ?? 'warn')));
    const deadline = Date.now() + REGISTRY_WAIT_MS;
    const report = await redrive(pool, codec, projectionsFor(config), positions, async () => Date.now() < deadline);
    await announce(report.notifications);
    if (values.json) console.log(JSON.stringify({ resolved: report.resolved, failed: report.failed }, null, 2));
    else {
      console.log(`re-driven: ${report.resolved.length}, still failing: ${report.failed.length}`);
      for (const f of report.failed) console.log(`  ${f.topic}:${f.partition}:${f.offset}  ${f.error}`);
    }
    if (report.failed.length > 0) process.exitCode = 2;
  }
} catch (error) {
  console.error(error instanceof UsageError ? error.message : `dead-letters: ${(error as Error).message}`);
  process.exitCode = error instanceof UsageError ? 64 : 1;
} finally {
  await pool.end();
}

/** Tells live subscribers what the re-driven letters changed; they also catch up by themselves. */
async function announce(notifications: Parameters<RedisPublisher['enqueue']>[0]): Promise<void> {
  if (notifications.length === 0) return;
  const redis = createRedis(config);
  const publisher = new RedisPublisher(redis, config.redisPrefix, createLogger('dead-letters', 'warn'));
  publisher.enqueue(notifications);
  await Promise.race([publisher.flushed(), new Promise((resolve) => setTimeout(resolve, 5000))]);
  redis.disconnect();
}

function parsePosition(text: string): Position {
  const match = /^(.+):(\d+):(\d+)$/.exec(text);
  if (!match) throw new UsageError(`not a TOPIC:PARTITION:OFFSET: ${text}\n${USAGE}`);
  return { topic: match[1]!, partition: Number(match[2]), offset: match[3]! };
}
