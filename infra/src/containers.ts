import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PlatformConfig } from '@chat/platform';
import { LOCAL_IMAGES } from './docker-images.ts';
import { brokerEnv, KAFKA_LOG_DIR } from './kafka.ts';
import { DATA } from './paths.ts';
import { hostPort } from './probes.ts';
import { registryEnv } from './registry.ts';
import { OBJECTSTORE_DATA, s3proxyVariables } from './objectstore.ts';
import { LOCAL_OBJECT_STORE_CREDENTIAL } from '@chat/platform';

// Missing components start with testcontainers where a Docker engine answers and the image is
// at hand (here: the local stand-ins of ./chat docker:images). Each container shares
// the host's network, so it listens on the very address the configuration names and Kafka can
// advertise it as is: nothing downstream knows which path started it. A store's data lives on
// the host, under .data/, bind-mounted into its container: it outlives the container (infra:down
// removes containers, never data), and Kafka's is the very folder the native broker uses, so
// the broker keeps its log (and its cluster id) whichever path starts it.

// Ryuk, testcontainers' reaper, is an image of its own that no registry here can give, and
// infra:up wants its containers to outlive it: a test run's teardown or infra:down stops them.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

export interface ContainerSpec {
  image: string;
  env: Record<string, string>;
  command?: string[];
  /** Where the store keeps its data: a host folder, mounted at `container`. */
  data?: { host: string; container: string };
  /** Host files the container reads (a credential), mounted read-only. */
  files?: { host: string; container: string }[];
}

/** `dataRoot`: where stores keep their data on the host (.data/ but for tests). */
type Spec = (config: PlatformConfig, dataRoot?: string) => ContainerSpec;

/** The image compose would use too: its variable when set, else the local stand-in. */
const imageOf = (variable: keyof typeof LOCAL_IMAGES) => process.env[variable] ?? LOCAL_IMAGES[variable];

export const CONTAINER_SPECS: Record<string, Spec> = {
  // The native broker's settings, moved to the configured port (its controller on the next one).
  kafka: (config, dataRoot = DATA) => {
    const { port } = hostPort(config.kafkaBrokers[0] ?? '', 9092);
    const moved = (value: string) =>
      value.replaceAll('127.0.0.1:9093', `127.0.0.1:${port + 1}`).replaceAll('127.0.0.1:9092', `127.0.0.1:${port}`);
    const env = Object.fromEntries(Object.entries(brokerEnv()).map(([name, value]) => [name, moved(value)]));
    // The image keeps its log in KAFKA_LOG_DIRS (infra/docker/images/kafka).
    return {
      image: imageOf('KAFKA_IMAGE'),
      env,
      data: { host: dataRoot === DATA ? KAFKA_LOG_DIR : join(dataRoot, 'kafka', 'logs'), container: '/var/lib/kafka/data' },
    };
  },
  registry: (config) => ({ image: imageOf('REGISTRY_IMAGE'), env: registryEnv(config) }),
  postgres: (config, dataRoot = DATA) => ({
    image: imageOf('POSTGRES_IMAGE'),
    env: { POSTGRES_HOST_AUTH_METHOD: 'trust' },
    command: ['postgres', '-c', `port=${new URL(config.databaseUrl).port || '5432'}`, '-c', 'listen_addresses=127.0.0.1'],
    data: { host: join(dataRoot, 'postgres'), container: '/var/lib/postgresql/data' },
  }),
  // S3Proxy's settings as the image's S3PROXY_* and JCLOUDS_* variables; the credential file is
  // the host's own (.data/objectstore/credential), read by the image's entrypoint, so the secret
  // is in no container's environment.
  objectstore: (config, dataRoot = DATA) => ({
    image: imageOf('OBJECTSTORE_IMAGE'),
    env: { ...s3proxyVariables(config.objectStore, '/data'), S3PROXY_CREDENTIAL_FILE: '/run/chat-s3/credential' },
    data: { host: dataRoot === DATA ? OBJECTSTORE_DATA : join(dataRoot, 'objectstore', 'data'), container: '/data' },
    files: [{ host: LOCAL_OBJECT_STORE_CREDENTIAL, container: '/run/chat-s3/credential' }],
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
  if (spec.data) mkdirSync(spec.data.host, { recursive: true });
  const mounts = [
    ...(spec.data ? [{ source: spec.data.host, target: spec.data.container, mode: 'rw' as const }] : []),
    ...(spec.files ?? []).map((file) => ({ source: file.host, target: file.container, mode: 'ro' as const })),
  ];
  if (mounts.length) container = container.withBindMounts(mounts);
  const started = await container.start();
  return { name, image: spec.image, stop: async () => void (await started.stop({ timeout: 10_000 })) };
}
