import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// One place that reads the environment. Every service and test gets the same names and
// defaults, so a test can isolate itself by setting a prefix and nothing else.

/** An S3-compatible object store (the local one: infra/src/objectstore.ts) and how to reach it. */
export interface ObjectStoreConfig {
  /** Where the services reach the store. */
  endpoint: string;
  /** Where clients (browsers) reach it: presigned URLs are made for this address. */
  publicEndpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  /** Never logged: S3_SECRET_ACCESS_KEY, else the file S3_SECRET_ACCESS_KEY_FILE, else the local store's credential. */
  secretAccessKey: string;
}

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
  objectStore: ObjectStoreConfig;
  /** Prepended to every object key; tests use it to isolate themselves, like topicPrefix. */
  objectPrefix: string;
}

export const DEFAULTS = {
  kafkaBrokers: '127.0.0.1:9092',
  schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/chat',
  redisUrl: 'redis://127.0.0.1:6379',
  s3Endpoint: 'http://127.0.0.1:9000',
  s3Region: 'us-east-1',
  s3Bucket: 'chat',
  s3AccessKeyId: 'chat-local',
} as const;

/**
 * The local object store's credential: generated at random when infra:up first starts it (or
 * the Docker path does), mode 0600, under the repository's git-ignored .data/. Read here when
 * the environment names no secret, so `./chat up`, tests and benchmarks find it as they are.
 */
export const LOCAL_OBJECT_STORE_CREDENTIAL = fileURLToPath(new URL('../../.data/objectstore/credential', import.meta.url));

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
    objectStore: objectStoreConfig(env),
    objectPrefix: env.OBJECT_PREFIX ?? '',
  };
}

function objectStoreConfig(env: Env): ObjectStoreConfig {
  const endpoint = env.S3_ENDPOINT || DEFAULTS.s3Endpoint;
  return {
    endpoint,
    publicEndpoint: env.S3_PUBLIC_ENDPOINT || endpoint,
    region: env.S3_REGION || DEFAULTS.s3Region,
    bucket: env.S3_BUCKET || DEFAULTS.s3Bucket,
    accessKeyId: env.S3_ACCESS_KEY_ID || DEFAULTS.s3AccessKeyId,
    secretAccessKey: objectStoreSecret(env),
  };
}

function objectStoreSecret(env: Env): string {
  if (env.S3_SECRET_ACCESS_KEY) return env.S3_SECRET_ACCESS_KEY;
  // A file that was named must be there: reading it fails loudly (naming the file, not its content).
  if (env.S3_SECRET_ACCESS_KEY_FILE) return readFileSync(env.S3_SECRET_ACCESS_KEY_FILE, 'utf8').trim();
  try {
    return readFileSync(LOCAL_OBJECT_STORE_CREDENTIAL, 'utf8').trim();
  } catch {
    return ''; // no local store started here yet (infra:up writes the file before it starts one)
  }
}

export function intFromEnv(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got "${raw}"`);
  return value;
}
