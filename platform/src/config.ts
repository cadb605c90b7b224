// One place that reads the environment. Every service and test gets the same names and
// defaults, so a test can isolate itself by setting a prefix and nothing else.

export interface PlatformConfig {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  databaseUrl: string;
  redisUrl: string;
  /** Prepended to topic names and the consumer group id; tests use it to isolate themselves. */
  topicPrefix: string;
  /** Postgres schema holding the read models. */
  pgSchema: string;
  /** Prepended to Redis channel names. */
  redisPrefix: string;
}

export const DEFAULTS = {
  kafkaBrokers: '127.0.0.1:9092',
  schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/chat',
  redisUrl: 'redis://127.0.0.1:6379',
} as const;

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): PlatformConfig {
  return {
    kafkaBrokers: (env.KAFKA_BROKERS ?? DEFAULTS.kafkaBrokers).split(',').map((b) => b.trim()),
    schemaRegistryUrl: env.SCHEMA_REGISTRY_URL ?? DEFAULTS.schemaRegistryUrl,
    databaseUrl: env.DATABASE_URL ?? DEFAULTS.databaseUrl,
    redisUrl: env.REDIS_URL ?? DEFAULTS.redisUrl,
    topicPrefix: env.TOPIC_PREFIX ?? '',
    pgSchema: env.PG_SCHEMA ?? 'public',
    redisPrefix: env.REDIS_PREFIX ?? '',
  };
}

export function intFromEnv(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got "${raw}"`);
  return value;
}
