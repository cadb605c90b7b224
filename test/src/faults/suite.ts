import { SERVICES, startStack, type Instance, type ServiceName, type Stack } from '@chat/infra';
import { loadConfig, sleep, topicName } from '@chat/platform';
import { readRoomLog, roomLogFindings } from '../room-log.ts';
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

/** On one Kafka node: the short run's faults, and the full run's first part. */
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
  'command-service cut off from kafka',
  'projector cut off from kafka',
  'command-service cut off from postgres',
  'projector cut off from postgres',
  'query-service cut off from postgres',
  'command-service killed while kafka is down',
  'registry cut off',
  'services restarted while the registry is cut off',
  'projector killed, postgres restarted and redis restarted at once',
  'command-service frozen, query-service killed and kafka cut off at once',
] as const;

/** On three Kafka nodes (every topic replicated three times, written when two are in sync): the full run's second part. */
export const THREE_NODE_FAULTS = [
  'kafka node killed',
  'kafka node killed while partitions move',
  'kafka quorum lost while partitions move',
  'command-service killed',
  'command-service cut off from kafka',
  'projector cut off from kafka',
  'every kafka node killed',
] as const;

export type FaultName = (typeof FAULTS)[number] | (typeof THREE_NODE_FAULTS)[number];

export interface SuiteOptions extends WorkloadOptions {
  faults: readonly FaultName[];
  /** Kafka nodes: 1 (the default) or 3. */
  kafkaNodes?: 1 | 3;
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
  /** The room topic read at the end by a strict read-committed reader: its records, and what is unclean in it. */
  log: { records: number; findings: string[] };
  faults: FaultOutcome[];
  reconnects: number;
  durationMs: number;
}

const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];
/** The services that talk to Kafka (the query service reads Postgres and Redis only). */
const KAFKA_CLIENTS = ['command-service', 'projector'] as const;

interface Environment {
  stack: Stack;
  postgres: OwnPostgres;
  /** One per service, and `test` for the suite's own connections: each can be cut alone. */
  postgresProxies: Map<ServiceName | 'test', TcpProxy>;
  redis: OwnRedis;
  kafka: OwnKafka;
  /** Between every service and the registry the tests share: cut, never restarted, so other tests keep theirs. */
  registryProxy: TcpProxy;
}

interface Fault {
  inject(): Promise<void>;
  heal(): Promise<void>;
}

function nemesis(env: Environment, name: FaultName): Fault {
  const { stack, postgres, postgresProxies, redis, kafka, registryProxy } = env;
  const killed = (service: ServiceName): Fault => ({
    inject: () => stack.stopService(service, 'SIGKILL'),
    heal: () => stack.startService(service),
  });
  const frozen = (service: ServiceName): Fault => ({
    inject: async () => stack.instance(service).signal('SIGSTOP'),
    heal: async () => stack.instance(service).signal('SIGCONT'),
  });
  const cutFromPostgres = (services: readonly (ServiceName | 'test')[]): Fault => ({
    inject: async () => services.forEach((service) => postgresProxies.get(service)!.cut()),
    heal: async () => services.forEach((service) => postgresProxies.get(service)!.heal()),
  });
  const cutFromKafka = (service?: ServiceName): Fault => ({
    inject: async () => kafka.cut(service),
    heal: async () => kafka.heal(service),
  });
  // Kafka nodes down while a second command-service instance joins, so partitions move to it
  // and their new owner fences the writers it replaces with those nodes gone (with two of
  // three, the fence cannot succeed until they are back); at the heal the nodes come back and
  // the instance leaves, so the partitions move back.
  const nodesDownWhilePartitionsMove = (count: number): Fault => {
    let joined: Promise<Instance> | undefined;
    let down: number[] = [];
    return {
      inject: async () => {
        const leader = await kafka.leaderOf(topicName(stack.config.topicPrefix, 'roomEvents'));
        down = [leader, ...kafka.nodeIds.filter((id) => id !== leader)].slice(0, count);
        await kafka.kill(...down);
        joined = stack.startExtra('command-service');
        joined.catch(() => undefined); // awaited by heal
      },
      heal: async () => {
        await kafka.start(...down);
        await (await joined)?.stop();
      },
    };
  };
  const postgresRestarted: Fault = { inject: async () => postgres.stop(), heal: () => postgres.start() };
  const redisRestarted: Fault = { inject: () => redis.kill(), heal: () => redis.start() };
  // Several at once: injected in turn, healed in the opposite order.
  const together = (...faults: Fault[]): Fault => ({
    inject: async () => {
      for (const fault of faults) await fault.inject();
    },
    heal: async () => {
      for (const fault of [...faults].reverse()) await fault.heal();
    },
  });
  switch (name) {
    case 'projector killed, postgres restarted and redis restarted at once':
      return together(killed('projector'), postgresRestarted, redisRestarted);
    case 'command-service frozen, query-service killed and kafka cut off at once':
      return together(frozen('command-service'), killed('query-service'), cutFromKafka());
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
      return postgresRestarted;
    case 'redis restarted':
      return redisRestarted;
    case 'kafka broker killed':
    case 'every kafka node killed':
      return { inject: () => kafka.kill(), heal: () => kafka.start() };
    case 'kafka node killed': {
      let leader = 0;
      return {
        inject: async () => {
          leader = await kafka.leaderOf(topicName(stack.config.topicPrefix, 'roomEvents'));
          await kafka.kill(leader);
        },
        heal: () => kafka.start(leader),
      };
    }
    case 'kafka node killed while partitions move':
      return nodesDownWhilePartitionsMove(1);
    case 'kafka quorum lost while partitions move':
      return nodesDownWhilePartitionsMove(2);
    case 'kafka cut off':
      return cutFromKafka();
    case 'command-service cut off from kafka':
      return cutFromKafka('command-service');
    case 'projector cut off from kafka':
      return cutFromKafka('projector');
    case 'postgres cut off':
      return cutFromPostgres([...postgresProxies.keys()]);
    case 'command-service cut off from postgres':
      return cutFromPostgres(['command-service']);
    case 'projector cut off from postgres':
      return cutFromPostgres(['projector']);
    case 'query-service cut off from postgres':
      return cutFromPostgres(['query-service']);
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
async function setUp(kafkaNodes: 1 | 3): Promise<Environment & { tearDown(): Promise<void> }> {
  const saved = {
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL,
  };
  const registry = new URL(loadConfig().schemaRegistryUrl);
  const registryProxy = await TcpProxy.create(Number(registry.port || 80));
  const postgres = await OwnPostgres.create();
  const postgresProxies = new Map<ServiceName | 'test', TcpProxy>();
  for (const client of ['test' as const, ...SERVICE_NAMES]) postgresProxies.set(client, await TcpProxy.create(postgres.port));
  const databaseUrl = (client: ServiceName | 'test') => `postgres://postgres@127.0.0.1:${postgresProxies.get(client)!.port}/postgres`;
  const redis = await OwnRedis.create();
  const kafka = await OwnKafka.create({ nodes: kafkaNodes, clients: KAFKA_CLIENTS });
  process.env.DATABASE_URL = databaseUrl('test');
  process.env.REDIS_URL = redis.url;
  process.env.KAFKA_BROKERS = kafka.brokers;
  process.env.SCHEMA_REGISTRY_URL = `${registry.protocol}//127.0.0.1:${registryProxy.port}${registry.pathname.replace(/\/$/, '')}`;
  const ownRoutes = Object.fromEntries(
    SERVICE_NAMES.map((service) => [
      service,
      {
        DATABASE_URL: databaseUrl(service),
        ...((KAFKA_CLIENTS as readonly string[]).includes(service) ? { KAFKA_BROKERS: kafka.brokersFor(service) } : {}),
      },
    ]),
  );
  const stack = await startStack(
    'faults',
    // Clients retry; a command waits for its projection no longer than a person would.
    { VISIBILITY_TIMEOUT_MS: '2000' },
    ownRoutes,
  );
  return {
    stack,
    postgres,
    postgresProxies,
    redis,
    kafka,
    registryProxy,
    tearDown: async () => {
      await stack.stop().catch(() => undefined);
      await kafka.remove();
      await redis.kill();
      for (const proxy of postgresProxies.values()) await proxy.close();
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
  const env = await setUp(options.kafkaNodes ?? 1);
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
    const roomLog = await readRoomLog(env.stack.config);
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
    return {
      verdict,
      log: { records: roomLog.length, findings: roomLogFindings(roomLog) },
      faults,
      reconnects: workload.streams.reduce((n, s) => n + s.reconnects, 0),
      durationMs: Date.now() - started,
    };
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
