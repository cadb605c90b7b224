import { performance } from 'node:perf_hooks';
import { infraUp, startStack } from '@chat/infra';
import { intFromEnv } from '@chat/platform';
import { signUp } from '@chat/test/accounts';
import pg from 'pg';
import { runOpenLoop } from './open-loop.ts';
import { cpuBetween, cpuFigures, sampleCpu, type CpuSample } from './proc.ts';
import { measureRawLimits } from './raw-limits.ts';
import { createRooms, DESCRIBE_SEND_TO, messageSender, sendToFromEnv } from './sender.ts';
import { summarize, Tally } from './stats.ts';

// CPU per accepted command under a fixed offered load (open loop), on the real stack.
//
// RATE sendMessage mutations per second over ROOMS rooms (open-loop.ts: each at its scheduled
// time, latency from that time), for DURATION seconds after WARMUP seconds. CPU is every
// process's user + system time from /proc over the measured window (proc.ts: each service,
// Kafka and the registry apart, every Postgres process, Redis, the load generator, and the
// rest of the box as `others`), divided by the commands accepted in it; Postgres's commits per
// second are pg_stat_database's xact_commit over the same window. The raw limits of Kafka,
// Postgres and Redis are measured first, in the same run.
//
// SEND_TO=endpoint (the default) sends through the one endpoint as a client does; SEND_TO=command
// straight to the command service, signed as an instance (what the command side costs alone).
//
// Usage: ./chat bench:cpu   (env: RATE, ROOMS, DURATION, WARMUP, CONNECTIONS, SEND_TO)

const RATE = intFromEnv(process.env, 'RATE', 1000);
const ROOMS = intFromEnv(process.env, 'ROOMS', 100);
const DURATION = intFromEnv(process.env, 'DURATION', 20);
const WARMUP = intFromEnv(process.env, 'WARMUP', 5);
const CONNECTIONS = intFromEnv(process.env, 'CONNECTIONS', 64);
const SEND_TO = sendToFromEnv();

await infraUp();
const raw = await measureRawLimits();
const stack = await startStack('bench-cpu');
try {
  const token = (await signUp(stack.queryUrl, 'bench')).accessToken;
  const rooms = await createRooms(stack, token, ROOMS);
  const sender = messageSender(stack, SEND_TO, token, CONNECTIONS);
  const services = ['command-service', 'projector', 'query-service'] as const;
  const pids = Object.fromEntries(services.map((s) => [s, stack.instance(s).pid]));
  const stats = new pg.Client({ connectionString: stack.config.databaseUrl });
  await stats.connect();
  const commits = async () =>
    Number(
      (await stats.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.n,
    );

  const latencies: number[] = [];
  const outcomes = new Tally();
  let start: { cpu: CpuSample; commits: number } | undefined;
  const loop = await runOpenLoop({
    rate: RATE,
    warmupSeconds: WARMUP,
    durationSeconds: DURATION,
    onWindowStart: async () => void (start = { cpu: sampleCpu(pids), commits: await commits() }),
    send: async (i, scheduled, measured) => {
      const outcome = await sender.send(rooms[i % ROOMS]!, `load ${i}`, `cpu-${i}`);
      if (!measured) return;
      latencies.push(performance.now() - scheduled);
      outcomes.add(outcome);
    },
  });
  // The window closes once every measured command has its answer, so their whole cost is in it.
  const window = cpuBetween(start!.cpu, sampleCpu(pids));
  const postgresCommits = (await commits()) - start!.commits;
  await stats.end();
  await sender.close();
  const accepted = outcomes.get('MessageAccepted');
  const measured = RATE * DURATION;

  console.log(
    JSON.stringify(
      {
        method:
          'open loop, fixed offered rate; CPU of every process from /proc from the first measured send until the last measured answer',
        sentTo: DESCRIBE_SEND_TO[SEND_TO],
        offered: { ratePerSecond: RATE, seconds: DURATION, rooms: ROOMS, warmupSeconds: WARMUP },
        achievedOfferedRate: loop.achievedRate,
        acceptedPerSecond: Math.round(accepted / window.seconds),
        outcomes,
        answerLatencyFromScheduledMs: summarize(latencies, measured - latencies.length),
        cpuPerAcceptedCommand: cpuFigures(window, accepted),
        postgresCommits: {
          perSecond: Math.round(postgresCommits / window.seconds),
          perAcceptedCommand: Math.round((postgresCommits / Math.max(1, accepted)) * 100) / 100,
        },
        rawLimits: raw,
      },
      null,
      2,
    ),
  );
} finally {
  await stack.stop();
}
