import { startStack, type Stack } from '@chat/infra';
import { loadConfig, sleep } from '@chat/platform';
import { OwnPostgres } from '../own-postgres.ts';
import { OwnRedis } from '../own-redis.ts';
import { checkHistory, type SendRecord, type Verdict } from './history.ts';
import { OwnKafka } from './own-kafka.ts';
import { TcpProxy } from './tcp-proxy.ts';
import { Workload, type WorkloadOptions } from './workload.ts';

// The fault suite: a whole platform on stores of its own (Kafka and Postgres behind proxies the
// suite can cut, Redis it can kill), the workload of workload.ts through the one endpoint, and a
// nemesis that injects one fault at a time, heals it, and lets the platform settle before the
// next. At the end the history checker judges everything, overall and per fault (a send belongs
// to the fault during whose window it was first sent).

export const FAULTS = [
  'command-service killed',
  'command-service frozen',
  'projector killed',
  'projector frozen',
  'query-service killed',
  'query-service frozen',
  'postgres restarted',
  'redis restarted',
  'kafka broker killed',
  'kafka cut off',
  'postgres cut off',
  'command-service killed while kafka is down',
  'registry cut off',
  'services restarted while the registry is cut off',
] as const;
export type FaultName = (typeof FAULTS)[number];

export interface SuiteOptions extends WorkloadOptions {
  faults: readonly FaultName[];
  /** How long each fault lasts before it is healed. */
  faultMs: number;
  /** Calm after each heal, before the next fault. */
  settleMs: number;
  /** Calm before the first fault. */
  warmUpMs: number;
  log?: (line: string) => void;
}

export interface FaultOutcome {
  name: string;
  sent: number;
  acknowledged: number;
  indeterminate: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /** The longest time without any acknowledgement from the injection to the end of the settle. */
  longestSilenceMs: number;
  /** From the heal to the first acknowledgement after it. */
  recoveredAfterMs: number | null;
}

export interface SuiteResult {
  verdict: Verdict;
  faults: FaultOutcome[];
  reconnects: number;
  durationMs: number;
}

interface Environment {
  stack: Stack;
  postgres: OwnPostgres;
  postgresProxy: TcpProxy;
  redis: OwnRedis;
  kafka: OwnKafka;
  /** Between every service and the registry the tests share: cut, never restarted, so other tests keep theirs. */
  registryProxy: TcpProxy;
}

interface Fault {
  inject(): Promise<void>;
  heal(): Promise<void>;
}

function nemesis({ stack, postgres, postgresProxy, redis, kafka, registryProxy }: Environment, name: FaultName): Fault {
  const killed = (service: 'command-service' | 'projector' | 'query-service'): Fault => ({
    inject: () => stack.stopService(service, 'SIGKILL'),
    heal: () => stack.startService(service),
  });
  const frozen = (service: 'command-service' | 'projector' | 'query-service'): Fault => ({
    inject: async () => stack.instance(service).signal('SIGSTOP'),
    heal: async () => stack.instance(service).signal('SIGCONT'),
  });
  switch (name) {
    case 'command-service killed':
      return killed('command-service');
    case 'command-service frozen':
      return frozen('command-service');
    case 'projector killed':
      return killed('projector');
    case 'projector frozen':
      return frozen('projector');
    case 'query-service killed':
      return killed('query-service');
    case 'query-service frozen':
      return frozen('query-service');
    case 'postgres restarted':
      return { inject: async () => postgres.stop(), heal: () => postgres.start() };
    case 'redis restarted':
      return { inject: () => redis.kill(), heal: () => redis.start() };
    case 'kafka broker killed':
      return { inject: () => kafka.kill(), heal: () => kafka.start() };
    case 'kafka cut off':
      return { inject: async () => kafka.proxy.cut(), heal: async () => kafka.proxy.heal() };
    case 'postgres cut off':
      return { inject: async () => postgresProxy.cut(), heal: async () => postgresProxy.heal() };
    case 'command-service killed while kafka is down':
      return {
        inject: async () => {
          await kafka.kill();
          await stack.stopService('command-service', 'SIGKILL');
        },
        heal: async () => {
          await kafka.start();
          await stack.startService('command-service');
        },
      };
    case 'registry cut off':
      return { inject: async () => registryProxy.cut(), heal: async () => registryProxy.heal() };
    case 'services restarted while the registry is cut off': {
      // Started while it is away, the services wait for it (they register or look up schemas
      // first) and come up once it is back, with nothing lost meanwhile.
      let restarted: Promise<unknown> = Promise.resolve();
      return {
        inject: async () => {
          registryProxy.cut();
          await stack.stopService('command-service', 'SIGKILL');
          await stack.stopService('projector', 'SIGKILL');
          restarted = Promise.all([stack.startService('projector'), stack.startService('command-service')]);
          restarted.catch(() => undefined); // awaited by heal
        },
        heal: async () => {
          registryProxy.heal();
          await restarted;
        },
      };
    }
  }
}

/** Stores of the suite's own, a stack on them (through process.env, put back after). */
async function setUp(): Promise<Environment & { tearDown(): Promise<void> }> {
  const saved = {
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL,
  };
  const registry = new URL(loadConfig().schemaRegistryUrl);
  const registryProxy = await TcpProxy.create(Number(registry.port || 80));
  const postgres = await OwnPostgres.create();
  const postgresProxy = await TcpProxy.create(postgres.port);
  const redis = await OwnRedis.create();
  const kafka = await OwnKafka.create();
  process.env.DATABASE_URL = `postgres://postgres@127.0.0.1:${postgresProxy.port}/postgres`;
  process.env.REDIS_URL = redis.url;
  process.env.KAFKA_BROKERS = kafka.brokers;
  process.env.SCHEMA_REGISTRY_URL = `${registry.protocol}//127.0.0.1:${registryProxy.port}${registry.pathname.replace(/\/$/, '')}`;
  const stack = await startStack('faults', {
    // Clients retry; a command waits for its projection no longer than a person would.
    VISIBILITY_TIMEOUT_MS: '2000',
  });
  return {
    stack,
    postgres,
    postgresProxy,
    redis,
    kafka,
    registryProxy,
    tearDown: async () => {
      await stack.stop().catch(() => undefined);
      await kafka.remove();
      await redis.kill();
      await postgresProxy.close();
      await registryProxy.close();
      postgres.remove();
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    },
  };
}

export async function runFaultSuite(options: SuiteOptions): Promise<SuiteResult> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const env = await setUp();
  try {
    const workload = new Workload(env.stack, options);
    await workload.prepare();
    workload.start();
    await sleep(options.warmUpMs);
    const windows: { name: FaultName; from: number; healedAt: number; to: number }[] = [];
    for (const name of options.faults) {
      const fault = nemesis(env, name);
      const from = Date.now();
      log(`fault: ${name}`);
      await fault.inject();
      await sleep(options.faultMs);
      await fault.heal();
      const healedAt = Date.now();
      log(`healed: ${name} (${healedAt - from} ms)`);
      await sleep(options.settleMs);
      windows.push({ name, from, healedAt, to: Date.now() });
    }
    await workload.stop(60_000);
    const history = await settledHistory(workload);
    await workload.closeStreams(history, 30_000);
    const verdict = checkHistory(workload.sends, history, workload.streams);
    const acks = workload.ackTimes();
    const faults = windows.map(({ name, from, healedAt, to }): FaultOutcome => {
      const sends = workload.sends.filter((s) => s.startedAt >= from && s.startedAt < to);
      const judged = checkHistory(sends, history, []);
      return {
        name,
        sent: judged.sent,
        acknowledged: judged.acknowledged,
        indeterminate: judged.indeterminate,
        lost: judged.lost.length,
        duplicated: judged.duplicated.length,
        reordered: judged.reordered.length,
        longestSilenceMs: longestSilence(acks, from, to),
        recoveredAfterMs: firstAfter(acks, healedAt),
      };
    });
    return { verdict, faults, reconnects: workload.streams.reduce((n, s) => n + s.reconnects, 0), durationMs: Date.now() - started };
  } finally {
    await env.tearDown();
  }
}

/** History once every acknowledged message is projected (or after a minute, whatever it holds then). */
async function settledHistory(workload: Workload) {
  const acknowledged = new Set(
    workload.sends.flatMap((s: SendRecord) => s.attempts.flatMap((a) => (a.outcome === 'accepted' ? [a.messageId] : []))),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const history = await workload.history();
    const stored = new Set(history.map((m) => m.messageId));
    if ([...acknowledged].every((id) => stored.has(id)) || Date.now() > deadline) return history;
    await sleep(500);
  }
}

function longestSilence(acks: readonly number[], from: number, to: number): number {
  let longest = 0;
  let last = from;
  for (const at of acks) {
    if (at < from) continue;
    if (at > to) break;
    longest = Math.max(longest, at - last);
    last = at;
  }
  return Math.max(longest, to - last);
}

function firstAfter(acks: readonly number[], at: number): number | null {
  const first = acks.find((t) => t >= at);
  return first === undefined ? null : first - at;
}
