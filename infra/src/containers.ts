import { spawnSync } from 'node:child_process';
import type { PlatformConfig } from '@chat/platform';
import { LOCAL_IMAGES } from './docker-images.ts';
import { hostPort } from './probes.ts';
import { registryEnv } from './registry.ts';

// Missing components start with testcontainers where a Docker engine answers and the image is
// at hand (here: the local stand-ins of ./chat docker:images). Each container shares
// the host's network, so it listens on the very address the configuration names and Kafka can
// advertise it as is: nothing downstream knows which path started it.

// Ryuk, testcontainers' reaper, is an image of its own that no registry here can give, and
// infra:up wants its containers to outlive it: a test run's teardown or infra:down stops them.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

export interface ContainerSpec {
  image: string;
  env: Record<string, string>;
  command?: string[];
}

type Spec = (config: PlatformConfig) => ContainerSpec;

/** The image compose would use too: its variable when set, else the local stand-in. */
const imageOf = (variable: keyof typeof LOCAL_IMAGES) => process.env[variable] ?? LOCAL_IMAGES[variable];

export const CONTAINER_SPECS: Record<string, Spec> = {
  kafka: (config) => {
    const { port } = hostPort(config.kafkaBrokers[0] ?? '', 9092);
    return {
      image: imageOf('KAFKA_IMAGE'),
      env: {
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_CONTROLLER_QUORUM_VOTERS: `1@127.0.0.1:${port + 1}`,
        KAFKA_LISTENERS: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${port + 1}`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_LOG_RETENTION_MS: '-1',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      },
    };
  },
  registry: (config) => ({ image: imageOf('REGISTRY_IMAGE'), env: registryEnv(config) }),
  postgres: (config) => ({
    image: imageOf('POSTGRES_IMAGE'),
    env: { POSTGRES_HOST_AUTH_METHOD: 'trust' },
    command: ['postgres', '-c', `port=${new URL(config.databaseUrl).port || '5432'}`, '-c', 'listen_addresses=127.0.0.1'],
  }),
  redis: (config) => ({
    image: imageOf('REDIS_IMAGE'),
    env: {},
    command: ['redis-server', '--port', new URL(config.redisUrl).port || '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  }),
};

const PREFIX = 'chat-infra-';

/** Removes every infrastructure container a launcher started, running or not (infra:down). */
export function removeInfraContainers(): string[] {
  const listed = spawnSync('docker', ['ps', '-a', '-q', '--filter', `name=^${PREFIX}`, '--format', '{{.Names}}'], { encoding: 'utf8' });
  const names = listed.status === 0 ? listed.stdout.split('\n').filter(Boolean) : [];
  if (names.length) spawnSync('docker', ['rm', '-f', ...names], { stdio: 'ignore' });
  return names;
}

export interface StartedContainer {
  name: string;
  image: string;
  stop(): Promise<void>;
}

/** Starts one container with testcontainers on the host's network; a leftover of a killed run is removed first. */
export async function startContainer(component: string, spec: ContainerSpec): Promise<StartedContainer> {
  const { GenericContainer } = await import('testcontainers');
  const name = `${PREFIX}${component}`;
  spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  let container = new GenericContainer(spec.image).withName(name).withNetworkMode('host').withEnvironment(spec.env);
  if (spec.command) container = container.withCommand(spec.command);
  const started = await container.start();
  return { name, image: spec.image, stop: async () => void (await started.stop({ timeout: 10_000 })) };
}
