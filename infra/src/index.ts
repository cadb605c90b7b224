import { intFromEnv, loadConfig, type PlatformConfig } from '@chat/platform';
import { ensureLocalMasterKeys } from './content-master-keys.ts';
import { CONTAINER_SPECS, removeInfraContainers, startContainer, type StartedContainer } from './containers.ts';
import { dockerEngineAnswers } from './docker.ts';
import { imageAtHand } from './docker-images.ts';
import { chooseLauncher, previousLauncher, rememberLauncher } from './launchers.ts';
import { ensureKafkaJars, kafkaAnswers, kafkaVersion, startKafka, waitForKafkaAndTopics } from './kafka.ts';
import { stopStarted, runningPid } from './processes.ts';
import { ensureDatabases, postgresAnswers, redact, startLocalPostgres, waitForPostgres } from './postgres.ts';
import { redisAnswers, startLocalRedis, waitForRedis } from './redis.ts';
import { APICURIO_VERSION, ensureApicurio, registryAnswers, startApicurio, waitForRegistry } from './registry.ts';
import {
  ensureLocalCredential,
  ensureS3Proxy,
  objectStoreAnswersHere,
  S3PROXY_VERSION,
  startS3Proxy,
  waitForObjectStore,
} from './objectstore.ts';

// DESIGN.md's order for every component: a URL from the environment is used as given (and
// must answer); otherwise a server already answering on the default address is reused;
// otherwise the launcher that started it before (it holds its data: launchers.ts); otherwise
// Docker where an engine answers; otherwise the native launcher.

type Env = Record<string, string | undefined>;

interface Component {
  name: string;
  envVar: string;
  answers(config: PlatformConfig): Promise<boolean>;
  startNative(config: PlatformConfig): void;
  waitReady(config: PlatformConfig): Promise<void>;
}

const COMPONENTS: Component[] = [
  {
    name: 'postgres',
    envVar: 'DATABASE_URL',
    answers: postgresAnswers,
    startNative: () => startLocalPostgres(),
    waitReady: async (config) => {
      await waitForPostgres(config);
      await ensureDatabases(config);
    },
  },
  {
    name: 'redis',
    envVar: 'REDIS_URL',
    answers: redisAnswers,
    startNative: startLocalRedis,
    waitReady: waitForRedis,
  },
  {
    name: 'objectstore',
    envVar: 'S3_ENDPOINT',
    answers: objectStoreAnswersHere,
    startNative: (config) => {
      ensureS3Proxy();
      startS3Proxy(config);
    },
    // Then the bucket, made when missing (on a store given by S3_ENDPOINT too).
    waitReady: (config) => waitForObjectStore(config, waitBudget('S3_ENDPOINT', 60_000)),
  },
  {
    name: 'kafka',
    envVar: 'KAFKA_BROKERS',
    answers: kafkaAnswers,
    startNative: () => {
      ensureKafkaJars();
      startKafka();
    },
    waitReady: (config) => waitForKafkaAndTopics(config, waitBudget('KAFKA_BROKERS', 120_000)),
  },
  {
    name: 'registry',
    envVar: 'SCHEMA_REGISTRY_URL',
    answers: registryAnswers,
    startNative: (config) => {
      ensureApicurio();
      startApicurio(config);
    },
    waitReady: (config) => waitForRegistry(config, waitBudget('SCHEMA_REGISTRY_URL', 180_000)),
  },
];

/**
 * How long to wait for a component: a server named in the environment should already be up,
 * so it gets a short budget (INFRA_WAIT_MS); one we start ourselves gets time to boot.
 */
function waitBudget(envVar: string, startingMs: number): number {
  return process.env[envVar] ? intFromEnv(process.env, 'INFRA_WAIT_MS', 20_000) : startingMs;
}

const startedContainers: StartedContainer[] = [];

/**
 * Brings every component up (idempotent), says which path each took, and returns the
 * configuration that reaches them. Where a Docker engine answers and the image is at hand, a
 * missing component runs in a container started by testcontainers; infra:up leaves it running
 * (infra:down removes it), a test run stops it at the end (stopStartedContainers).
 */
export async function infraUp(env: Env = process.env): Promise<PlatformConfig> {
  // The local object store's credential, made on first start (before the configuration, which reads it).
  ensureLocalCredential(env);
  // So is the master key message content is sealed under (see content-master-keys.ts).
  ensureLocalMasterKeys(env);
  const config = loadConfig(env);
  let docker: boolean | undefined;
  // The stores (Postgres, Redis, the object store) first: the registry keeps its schemas in Postgres.
  const [stores, streams] = [COMPONENTS.slice(0, 3), COMPONENTS.slice(3)];
  for (const group of [stores, streams]) {
    for (const component of group) {
      const label = `infra: ${component.name.padEnd(11)}`;
      if (env[component.envVar]) {
        console.log(`${label} given by ${component.envVar}`);
        continue;
      }
      if (await component.answers(config)) {
        console.log(`${label} reused: a server already answers on its address`);
        continue;
      }
      docker ??= dockerEngineAnswers();
      const spec = CONTAINER_SPECS[component.name]!(config);
      const containerPossible = docker && imageAtHand(spec.image);
      const { launcher, why } = chooseLauncher(component.name, previousLauncher(component.name), containerPossible);
      if (launcher === 'container') {
        startedContainers.push(await startContainer(component.name, spec));
        console.log(`${label} ${why}, image ${spec.image}`);
      } else {
        component.startNative(config);
        console.log(`${label} ${why}${docker && !containerPossible ? ` (a Docker engine answers, but ${spec.image} is not at hand)` : ''}`);
      }
      rememberLauncher(component.name, launcher);
    }
    // Slow starters (Kafka, the registry) boot side by side.
    await Promise.all(group.map((component) => component.waitReady(config)));
  }
  return config;
}

/** Stops the containers this process's infraUp started (a test run's global teardown). */
export async function stopStartedContainers(): Promise<void> {
  for (const container of startedContainers.splice(0).reverse()) await container.stop();
}

export async function infraDown(): Promise<string[]> {
  const stopped: string[] = [];
  // The registry first: it is a client of Postgres, and Kafka's clients may still be draining.
  for (const name of ['registry', 'kafka', 'objectstore', 'redis']) {
    if (await stopStarted(name)) stopped.push(name);
  }
  return [...stopped, ...removeInfraContainers().map((name) => `${name} (container)`)];
}

export async function infraStatus(env: Env = process.env): Promise<string[]> {
  const config = loadConfig(env);
  const where: Record<string, string> = {
    postgres: redact(config.databaseUrl),
    redis: config.redisUrl,
    kafka: `${config.kafkaBrokers.join(',')} (Apache Kafka ${kafkaVersion()} when native)`,
    registry: `${config.schemaRegistryUrl} (Apicurio Registry ${APICURIO_VERSION} when native)`,
    objectstore: `${config.objectStore.endpoint}, bucket ${config.objectStore.bucket} (S3Proxy ${S3PROXY_VERSION} when native)`,
  };
  return Promise.all(
    COMPONENTS.map(async (c) => {
      const up = await c.answers(config);
      const pid = runningPid(c.name);
      const owner = pid ? `started by infra:up, pid ${pid}` : up ? 'not started by infra:up' : '';
      return `${c.name.padEnd(12)} ${up ? 'up  ' : 'DOWN'} ${where[c.name]}${owner ? `  [${owner}]` : ''}`;
    }),
  );
}

export { ROOT } from './paths.ts';
export { buildLocalImages, imageAtHand, LOCAL_IMAGES } from './docker-images.ts';
export { compose, composeUpAndWait, containerState, dockerEngineAnswers, type ComposeProject } from './docker.ts';
export { redact } from './postgres.ts';
export { recordSelf, runningPid, stopStarted } from './processes.ts';
export { countOf, findLeftovers, removeLeftovers, testNameOf, type Leftovers } from './test-leftovers.ts';
export { SERVICES, startService, stopService, type RunningService, type ServiceName } from './services.ts';
export { ensureLocalMasterKeys } from './content-master-keys.ts';
export { freePort, serviceEnv, startStack, type Instance, type Stack } from './stack.ts';
export { withSignOnDefaults } from './sign-on-env.ts';
export { brokerJavaArgs, brokerPropertiesTemplate, newClusterId } from './kafka.ts';
export { CONTAINER_SPECS, startContainer } from './containers.ts';
