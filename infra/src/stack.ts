import { createServer } from 'node:net';
import {
  createKafka,
  ensureTopics,
  loadConfig,
  newInternalSecret,
  serviceInternalPort,
  servicePort,
  type PlatformConfig,
} from '@chat/platform';
import { SERVICES, startService, stopService, type RunningService, type ServiceName } from './services.ts';
import { withSignOnDefaults } from './sign-on-env.ts';
import { removeLeftovers } from './test-leftovers.ts';

// Starts the three services as real processes against the real infrastructure, isolated by a
// fresh topic prefix, Postgres schema, Redis prefix and object key prefix, so test files and
// benchmarks run side by side without seeing each other's data.

/** One running process of a service, with its own port. */
export interface Instance extends RunningService {
  port: number;
  /** http://127.0.0.1:<port>, for /health, /ready and service-specific endpoints. */
  baseUrl: string;
  /** The GraphQL endpoint (for the two API services). */
  url: string;
  /** http://127.0.0.1:<internal port>: /metrics, and the instance-to-instance routes. */
  internalUrl: string;
  pid: number;
  /** Stops the process and waits for it to exit; SIGKILL simulates a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting, e.g. SIGSTOP and SIGCONT to freeze and thaw a process. */
  signal(signal: NodeJS.Signals): void;
}

export interface Stack {
  config: PlatformConfig;
  commandUrl: string;
  queryUrl: string;
  queryWsUrl: string;
  /** Stops one service and waits for it to exit; SIGKILL simulates a crash. */
  stopService(name: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  /** Starts one service again; waits until it is ready, or only listening (one expected to wait for an operator). */
  startService(name: ServiceName, until?: 'ready' | 'listening'): Promise<void>;
  /** The first instance of a service as it runs now (a restart gives a new pid, same port). */
  instance(name: ServiceName): Instance;
  /** Starts one more instance of a service (same group, same env plus `env`, own port), e.g. to force a rebalance. */
  startExtra(name: ServiceName, env?: NodeJS.ProcessEnv): Promise<Instance>;
  stop(): Promise<void>;
}

/** The environment that points a service process at `config`'s infrastructure and isolation. */
export function serviceEnv(config: PlatformConfig): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_BROKERS: config.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: config.schemaRegistryUrl,
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    TOPIC_PREFIX: config.topicPrefix,
    PG_SCHEMA: config.pgSchema,
    REDIS_PREFIX: config.redisPrefix,
    // The store's secret is not passed on: a service finds it as this process did (loadConfig).
    S3_ENDPOINT: config.objectStore.endpoint,
    S3_PUBLIC_ENDPOINT: config.objectStore.publicEndpoint,
    S3_REGION: config.objectStore.region,
    S3_BUCKET: config.objectStore.bucket,
    S3_ACCESS_KEY_ID: config.objectStore.accessKeyId,
    OBJECT_PREFIX: config.objectPrefix,
  };
}

function uniqueName(label: string): string {
  return `t_${label}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Starts the three services on their own topics, schema, key prefix and object prefix. `extraEnv`
 * is given to every service, `ownEnv` to one service on top (say, its own route to a store, for a test
 * that cuts one service off); extra instances get their service's too.
 */
export async function startStack(
  label: string,
  extraEnv: NodeJS.ProcessEnv = {},
  ownEnv: Partial<Record<ServiceName, NodeJS.ProcessEnv>> = {},
): Promise<Stack> {
  const name = uniqueName(label);
  const config: PlatformConfig = {
    ...loadConfig(),
    topicPrefix: `${name}.`,
    pgSchema: name,
    redisPrefix: `${name}:`,
    objectPrefix: `${name}/`,
  };
  const admin = createKafka(config, 'test').admin();
  await admin.connect();
  await ensureTopics(admin, config.topicPrefix);
  await admin.disconnect();

  // Every test client comes from 127.0.0.1: per-address abuse limits would count them all as one.
  // So do commands and queries of one test user: tests and benchmarks send far more than a
  // person would. (Tests of the limits themselves pass their own values in extraEnv.)
  const testLimits = {
    SIGN_UP_LIMIT_PER_ADDRESS: '1000000',
    LOG_IN_LIMIT_PER_ADDRESS: '1000000',
    COMMAND_LIMIT_PER_USER: '1000000',
    SUBSCRIBE_LIMIT_PER_USER: '1000000',
    QUERY_LIMIT_PER_USER: '100000000',
    QUERY_LIMIT_PER_ADDRESS: '100000000',
    WS_SOCKETS_PER_ADDRESS: '100000',
    HTTP_CONNECTIONS_PER_ADDRESS: '100000',
  };
  // One secret for the instances of every stack of this test process; kept in its environment so
  // the test's own calls to the command service (test/src/graphql.ts) can sign as an instance.
  process.env.INTERNAL_SECRET ??= newInternalSecret();
  const env: NodeJS.ProcessEnv = { ...serviceEnv(config), ...testLimits, ...extraEnv };
  for (const service of Object.values(SERVICES)) {
    env[service.portVar] = String(await freePort());
    env[service.internalPortVar] = String(await freePort());
  }
  // With OIDC_ISSUER (for the stack, or one extra instance), sign-on returns through the stack's query service.
  const signOnDefaults = (own: NodeJS.ProcessEnv) => withSignOnDefaults(own, servicePort('query-service', env));
  const running = new Map<ServiceName, Instance>();
  const extras: Instance[] = [];
  let extraCount = 0;
  const start = async (service: ServiceName, until: 'ready' | 'listening' = 'ready') => {
    running.set(
      service,
      instanceOf(
        await startService(service, signOnDefaults({ ...env, ...ownEnv[service] }), `${name}.${service}`, until),
        servicePort(service, env),
        serviceInternalPort(service, env),
      ),
    );
  };
  const stop = async (service: ServiceName, signal?: NodeJS.Signals) => {
    const entry = running.get(service);
    running.delete(service);
    if (entry) await entry.stop(signal);
  };

  // The projector first: it creates the schema the other two read.
  await start('projector');
  await Promise.all([start('command-service'), start('query-service')]);

  const url = (service: ServiceName, scheme: string) => `${scheme}://127.0.0.1:${servicePort(service, env)}/graphql`;
  return {
    config,
    commandUrl: url('command-service', 'http'),
    queryUrl: url('query-service', 'http'),
    queryWsUrl: url('query-service', 'ws'),
    startService: start,
    stopService: stop,
    instance: (service) => {
      const entry = running.get(service);
      if (!entry) throw new Error(`${service} is not running`);
      return entry;
    },
    startExtra: async (service, instanceEnv = {}) => {
      // Numbered before any await, so extras started side by side log to their own files.
      const logName = `${name}.${service}-${(extraCount += 1) + 1}`;
      const port = await freePort();
      const internalPort = await freePort();
      const ports = { [SERVICES[service].portVar]: String(port), [SERVICES[service].internalPortVar]: String(internalPort) };
      const extra = instanceOf(
        await startService(service, signOnDefaults({ ...env, ...ownEnv[service], ...instanceEnv, ...ports }), logName),
        port,
        internalPort,
      );
      extras.push(extra);
      return extra;
    },
    stop: async () => {
      await Promise.all([...running.keys()].map((service) => stop(service)));
      await Promise.all(extras.map((extra) => extra.stop()));
      // Its topics, groups, subjects, keys, schemas (with a rebuild's <schema>_rm<n>) and objects:
      // nothing left behind.
      // A server a test has already taken away (its own Kafka, say) keeps what it held: the run's
      // final count (test/src/global-setup.ts) reports whatever that leaves on the shared ones.
      await removeLeftovers(config, (test) => test.name === name).catch((error: unknown) =>
        console.warn(`stack ${name}: could not remove all it made: ${error instanceof Error ? error.message : String(error)}`),
      );
    },
  };
}

function instanceOf(service: RunningService, port: number, internalPort: number): Instance {
  const baseUrl = `http://127.0.0.1:${port}`;
  const { child } = service;
  if (child.pid === undefined) throw new Error(`${service.name} has no pid`);
  return {
    ...service,
    port,
    baseUrl,
    url: `${baseUrl}/graphql`,
    internalUrl: `http://127.0.0.1:${internalPort}`,
    pid: child.pid,
    stop: (signal) => stopService(service, signal),
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

// Ports are picked below Linux's ephemeral range (32768-60999 by default): the OS's own pick
// (port 0) comes from that range, which every outgoing connection on the machine also takes
// its local port from, so a port picked there could be taken by a client socket (a Kafka or
// Postgres connection of a parallel test) before the service binds it. Below it, only another
// picker can collide, and neither does: a port checked free is not bound until its service
// starts, so this process never hands the same one out twice, and each vitest worker picks
// from a slice of its own.
const PICK_FROM = 20_000;
const PICK_BELOW = 32_768;
const WORKER_SLICES = 8;
const handedOut = new Set<number>();

function pickRange(): { from: number; size: number } {
  const worker = Number(process.env.VITEST_POOL_ID);
  if (!Number.isInteger(worker) || worker < 1) return { from: PICK_FROM, size: PICK_BELOW - PICK_FROM };
  const size = Math.floor((PICK_BELOW - PICK_FROM) / WORKER_SLICES);
  return { from: PICK_FROM + ((worker - 1) % WORKER_SLICES) * size, size };
}

/** A port nothing listens on now, and not handed out before by this process, for a service or a test server to take. */
export async function freePort(): Promise<number> {
  const { from, size } = pickRange();
  if (handedOut.size >= size / 2) handedOut.clear(); // a long run: the oldest picks are long bound or released
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = from + Math.floor(Math.random() * size);
    if (!handedOut.has(port) && (await canListen(port))) {
      handedOut.add(port);
      return port;
    }
  }
  return osPort();
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
