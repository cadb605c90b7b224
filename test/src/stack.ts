import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { createKafka, ensureTopics, loadConfig, quoteIdent, waitFor, type PlatformConfig } from '@chat/platform';
import { LOGS, ROOT } from '@chat/infra';

// Starts the three services as real processes against the real infrastructure, isolated by
// a fresh topic prefix, Postgres schema and Redis prefix, so test files run side by side.

export interface Stack {
  config: PlatformConfig;
  commandUrl: string;
  queryUrl: string;
  queryWsUrl: string;
  /** Stops one service and waits for it to exit; SIGKILL simulates a crash. */
  stopService(name: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  startService(name: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

export type ServiceName = 'projector' | 'command-service' | 'query-service';

const ENTRY: Record<ServiceName, string> = {
  projector: 'projector/src/main.ts',
  'command-service': 'command-service/src/main.ts',
  'query-service': 'query-service/src/main.ts',
};

export function uniqueName(label: string): string {
  return `t_${label}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
}

export async function startStack(label: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Stack> {
  const name = uniqueName(label);
  const config: PlatformConfig = { ...loadConfig(), topicPrefix: `${name}.`, pgSchema: name, redisPrefix: `${name}:` };
  const admin = createKafka(config, 'test').admin();
  await admin.connect();
  await ensureTopics(admin, config.topicPrefix);
  await admin.disconnect();

  const ports: Record<ServiceName, number> = {
    projector: await freePort(),
    'command-service': await freePort(),
    'query-service': await freePort(),
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: config.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: config.schemaRegistryUrl,
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    TOPIC_PREFIX: config.topicPrefix,
    PG_SCHEMA: config.pgSchema,
    REDIS_PREFIX: config.redisPrefix,
    PROJECTOR_PORT: String(ports.projector),
    COMMAND_PORT: String(ports['command-service']),
    QUERY_PORT: String(ports['query-service']),
    ...extraEnv,
  };
  const running = new Map<ServiceName, ChildProcess>();
  mkdirSync(LOGS, { recursive: true });

  const startService = async (service: ServiceName) => {
    const log = createWriteStream(join(LOGS, `${name}.${service}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(ROOT, ENTRY[service])], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    running.set(service, child);
    let exited = false;
    child.once('exit', () => (exited = true));
    await waitFor(
      `${service} to be ready (log: ${join(LOGS, `${name}.${service}.log`)})`,
      async () => {
        if (exited) throw new Error(`${service} exited during start-up`);
        const response = await fetch(`http://127.0.0.1:${ports[service]}/ready`).catch(() => undefined);
        return response?.ok ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  };

  const stopService = async (service: ServiceName, signal: NodeJS.Signals = 'SIGTERM') => {
    const child = running.get(service);
    running.delete(service);
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  // The projector first: it creates the schema the other two read.
  await startService('projector');
  await Promise.all([startService('command-service'), startService('query-service')]);

  return {
    config,
    commandUrl: `http://127.0.0.1:${ports['command-service']}/graphql`,
    queryUrl: `http://127.0.0.1:${ports['query-service']}/graphql`,
    queryWsUrl: `ws://127.0.0.1:${ports['query-service']}/graphql`,
    startService,
    stopService,
    stop: async () => {
      await Promise.all([...running.keys()].map((service) => stopService(service)));
      await dropSchema(config);
    },
  };
}

export async function dropSchema(config: PlatformConfig): Promise<void> {
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(config.pgSchema)} CASCADE`);
  await client.end();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
