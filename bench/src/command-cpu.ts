import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { infraUp, startStack } from '@chat/infra';
import { intFromEnv } from '@chat/platform';
import { signUp } from '@chat/test/accounts';
import { gql } from '@chat/test/graphql';
import pg from 'pg';
import { instanceHeaders } from './instance-headers.ts';
import { cpuMs, cpuMsOfAll } from './proc.ts';
import { measureRawLimits } from './raw-limits.ts';
import { summarize } from './stats.ts';

// CPU per accepted command under a fixed offered load (open loop), on the real stack.
//
// RATE sendMessage mutations per second over ROOMS rooms, each sent at its scheduled time
// whatever happened to the ones before (so a slow service meets the same load, and latency
// is measured from the scheduled time: no coordinated omission), for DURATION seconds after
// WARMUP seconds. CPU is each service process's user + system time from /proc over the
// measured window, divided by the commands accepted in it; Postgres is every postgres process
// (all its backends, so the command side's reads and writes too), and its commits per second
// are pg_stat_database's xact_commit over the same window. Kafka and the registry are every
// java process, Redis every redis-server: the whole box's CPU, the load generator's included.
//
// TARGET=command (the default) sends straight to the command service, signed as an instance
// (what the command side costs alone); TARGET=endpoint sends through the one endpoint, as a
// client does (the query service's proxying and admission included).
//
// Usage: ./chat bench:cpu   (env: RATE, ROOMS, DURATION, WARMUP, CONNECTIONS, TARGET)

const RATE = intFromEnv(process.env, 'RATE', 1000);
const ROOMS = intFromEnv(process.env, 'ROOMS', 100);
const DURATION = intFromEnv(process.env, 'DURATION', 20);
const WARMUP = intFromEnv(process.env, 'WARMUP', 5);
const CONNECTIONS = intFromEnv(process.env, 'CONNECTIONS', 64);
const TARGET = process.env.TARGET === 'endpoint' ? 'endpoint' : 'command';

const CREATE = `mutation($key: ID!) { createRoom(name: "bench", commandId: $key) { ... on RoomAccepted { roomId } ... on CommandError { code message } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on CommandError { code } } }`;

await infraUp();
const raw = await measureRawLimits();
const stack = await startStack('bench-cpu');
try {
  const bench = (await signUp(stack.commandUrl, 'bench')).accessToken;
  const rooms: string[] = [];
  for (let r = 0; r < ROOMS; r++) {
    const created = await gql(stack.commandUrl, CREATE, { key: `room-${r}` }, bench);
    if (!created.createRoom.roomId) throw new Error(JSON.stringify(created.createRoom));
    rooms.push(created.createRoom.roomId as string);
  }
  const agent = new Agent({ connections: CONNECTIONS, pipelining: 1 });
  const url = new URL(TARGET === 'endpoint' ? stack.queryUrl : stack.commandUrl);
  const signed = (body: string) => (TARGET === 'endpoint' ? {} : instanceHeaders(url, body));
  const services = ['command-service', 'projector', 'query-service'] as const;
  const stats = new pg.Client({ connectionString: stack.config.databaseUrl });
  await stats.connect();
  const commits = async () =>
    Number(
      (await stats.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.n,
    );
  const pids = Object.fromEntries(services.map((s) => [s, stack.instance(s).pid])) as Record<(typeof services)[number], number>;

  const latencies: number[] = [];
  const outcomes = new Map<string, number>();
  let accepted = 0;
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  const sendOne = async (i: number, scheduled: number, measured: boolean) => {
    const body = JSON.stringify({ query: SEND, variables: { roomId: rooms[i % ROOMS], body: `load ${i}`, id: `cpu-${i}` } });
    let outcome: string;
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bench}`, ...signed(body) },
        body,
      });
      const result = (await response.body.json()) as { data?: { sendMessage: { __typename: string; code?: string } }; errors?: unknown };
      outcome = result.data?.sendMessage.code ?? result.data?.sendMessage.__typename ?? 'GraphQLError';
    } catch (error) {
      outcome = `network: ${(error as Error).message}`;
    }
    if (!measured) return;
    latencies.push(performance.now() - scheduled);
    count(outcome);
    if (outcome === 'MessageAccepted') accepted++;
  };

  const total = RATE * (WARMUP + DURATION);
  const start = performance.now() + 100;
  const inFlight: Promise<void>[] = [];
  let window:
    | {
        startedAt: number;
        cpu: Record<string, number>;
        postgres: number;
        java: number;
        redis: number;
        commits: number;
        load: NodeJS.CpuUsage;
      }
    | undefined;
  for (let i = 0; i < total; i++) {
    const scheduled = start + (i * 1000) / RATE;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const measured = i >= RATE * WARMUP;
    if (measured && !window) {
      window = {
        startedAt: performance.now(),
        cpu: Object.fromEntries(services.map((s) => [s, cpuMs(pids[s])])),
        postgres: cpuMsOfAll('postgres'),
        java: cpuMsOfAll('java'),
        redis: cpuMsOfAll('redis-server'),
        commits: await commits(),
        load: process.cpuUsage(),
      };
    }
    inFlight.push(sendOne(i, scheduled, measured));
  }
  const offeredEnd = performance.now();
  // The window closes once every measured command has its answer, so their whole cost is in it.
  await Promise.all(inFlight);
  const cpuAtEnd = Object.fromEntries(services.map((s) => [s, cpuMs(pids[s])]));
  const postgresCpu = cpuMsOfAll('postgres') - window!.postgres;
  const javaCpu = cpuMsOfAll('java') - window!.java;
  const redisCpu = cpuMsOfAll('redis-server') - window!.redis;
  const windowSeconds = (performance.now() - window!.startedAt) / 1000;
  const postgresCommits = (await commits()) - window!.commits;
  await stats.end();
  const loadCpu = process.cpuUsage(window!.load);
  await agent.close();

  const perCommand = (ms: number) => Math.round((ms / Math.max(1, accepted)) * 1000) / 1000;
  const cpu = Object.fromEntries(services.map((s) => [s, perCommand(cpuAtEnd[s]! - window!.cpu[s]!)]));
  const platform = services.reduce((sum, s) => sum + cpuAtEnd[s]! - window!.cpu[s]!, 0);
  console.log(
    JSON.stringify(
      {
        method: 'open loop, fixed offered rate; CPU from /proc from the first measured send until the last measured answer',
        target: TARGET === 'endpoint' ? 'the one endpoint (query service)' : 'the command service, signed as an instance',
        offered: { ratePerSecond: RATE, seconds: DURATION, rooms: ROOMS, warmupSeconds: WARMUP },
        achievedOfferedRate: Math.round((RATE * DURATION) / ((offeredEnd - window!.startedAt) / 1000)),
        outcomes: Object.fromEntries(outcomes),
        answerLatencyFromScheduledMs: summarize(latencies),
        cpuMsPerAcceptedCommand: {
          ...cpu,
          platform: perCommand(platform),
          postgres: perCommand(postgresCpu),
          kafkaAndRegistry: perCommand(javaCpu),
          redis: perCommand(redisCpu),
          loadGenerator: perCommand((loadCpu.user + loadCpu.system) / 1000),
          projectorPlusPostgres: perCommand(cpuAtEnd.projector! - window!.cpu.projector! + postgresCpu),
        },
        postgresCommits: {
          perSecond: Math.round(postgresCommits / windowSeconds),
          perAcceptedCommand: round(postgresCommits / Math.max(1, accepted)),
        },
        loadGeneratorCpuMs: Math.round((loadCpu.user + loadCpu.system) / 1000),
        rawLimits: raw,
      },
      null,
      2,
    ),
  );
} finally {
  await stack.stop();
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
