import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKafka, ensureTopics, waitFor, type PlatformConfig } from '@chat/platform';
import { CACHE, DATA, INFRA } from './paths.ts';
import { commandExists, run, startDetached } from './processes.ts';
import { hostPort, tcpOpen } from './probes.ts';

// The real Apache Kafka broker, single node in KRaft mode, from Apache Kafka's own jars on
// Maven Central (infra/kafka/pom.xml), run with the machine's Java.

export const KAFKA_POM = join(INFRA, 'kafka', 'pom.xml');
const BROKER_PROPERTIES = join(INFRA, 'kafka', 'server.properties');
const KAFKA_VERSION = /<kafka\.version>([^<]+)</.exec(readFileSync(KAFKA_POM, 'utf8'))?.[1] ?? 'unknown';
const LIBS = join(CACHE, 'kafka', KAFKA_VERSION, 'libs');
const DATA_DIR = join(DATA, 'kafka');
/** The broker's log (its storage, with the cluster id it was formatted with): the native launcher's and the container's. */
export const KAFKA_LOG_DIR = join(DATA_DIR, 'logs');

export async function kafkaAnswers(config: PlatformConfig): Promise<boolean> {
  const { host, port } = hostPort(config.kafkaBrokers[0] ?? '', 9092);
  return tcpOpen(host, port);
}

export function ensureKafkaJars(): void {
  const marker = join(LIBS, '.complete');
  if (existsSync(marker)) return;
  if (!commandExists('mvn')) throw new Error('Maven (mvn) is needed to fetch the Kafka broker jars');
  if (!commandExists('java')) throw new Error('Java 17+ is needed to run the Kafka broker');
  console.log(`kafka: resolving Apache Kafka ${KAFKA_VERSION} jars with Maven into ${LIBS}`);
  run('mvn', ['-q', '-B', '-f', KAFKA_POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${LIBS}`]);
  writeFileSync(marker, new Date().toISOString());
}

export function startKafka(): void {
  mkdirSync(DATA_DIR, { recursive: true });
  const properties = join(DATA_DIR, 'server.properties');
  const template = readFileSync(BROKER_PROPERTIES, 'utf8');
  writeFileSync(properties, `${template}\nlog.dirs=${KAFKA_LOG_DIR}\n`);
  const started = startDetached('kafka', 'java', brokerJavaArgs(properties, KAFKA_LOG_DIR, '1g'));
  console.log(`kafka: started Apache Kafka ${KAFKA_VERSION} (pid ${started.pid}, log ${started.log})`);
}

/**
 * The `java` arguments that run a broker with `properties` (whose log.dirs is `logDir`), after
 * formatting its storage when it has none: with `clusterId` (the nodes of one cluster share
 * it), or a new one. For the native launcher, and for tests that run brokers of their own (to
 * kill them, or to reach them through a proxy).
 */
export function brokerJavaArgs(properties: string, logDir: string, heap: string, clusterId = newClusterId()): string[] {
  ensureKafkaJars();
  const java = (mainClass: string, args: string[]) => [
    `-Dlog4j2.configurationFile=${join(INFRA, 'kafka', 'log4j2.properties')}`,
    '-cp',
    join(LIBS, '*'),
    mainClass,
    ...args,
  ];
  if (!existsSync(join(logDir, 'meta.properties'))) {
    // Joined to its flag: an id may start with '-', which the tool would read as an option.
    run('java', java('kafka.tools.StorageTool', ['format', `--cluster-id=${clusterId}`, '-c', properties]));
  }
  return ['-Xms256m', `-Xmx${heap}`, '-XX:+UseG1GC', ...java('kafka.Kafka', [properties])];
}

/** A Kafka cluster id: 16 random bytes, base64url, as the storage tool's own `random-uuid` makes. */
export function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

/** The native broker's settings file (infra/kafka/server.properties), for a broker of a test's own to start from. */
export function brokerPropertiesTemplate(): string {
  return readFileSync(BROKER_PROPERTIES, 'utf8');
}

/**
 * The single broker's settings (infra/kafka/server.properties) as the Kafka image reads them:
 * KAFKA_* variables, `.` as `_`, `_` as `__`, `-` as `___` (the official image's convention).
 * The native launcher and the container run the same broker.
 */
export function brokerEnv(): Record<string, string> {
  const lines = readFileSync(BROKER_PROPERTIES, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  return Object.fromEntries(
    lines.map((line) => {
      const at = line.indexOf('=');
      const key = line.slice(0, at).replaceAll('_', '__').replaceAll('-', '___').replaceAll('.', '_').toUpperCase();
      return [`KAFKA_${key}`, line.slice(at + 1)];
    }),
  );
}

/** Waits until the broker serves metadata, then creates the project's topics. */
export async function waitForKafkaAndTopics(config: PlatformConfig, timeoutMs = 120_000): Promise<void> {
  const admin = createKafka(config, 'infra').admin();
  try {
    await waitFor(
      `Kafka at ${config.kafkaBrokers.join(',')}`,
      async () => {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 ? true : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    );
    await ensureTopics(admin, config.topicPrefix);
  } finally {
    await admin.disconnect();
  }
}

export function kafkaVersion(): string {
  return KAFKA_VERSION;
}
