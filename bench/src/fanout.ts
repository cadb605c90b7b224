import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Client } from 'graphql-ws';
import { io as socketIo, type Socket } from 'socket.io-client';
import { freePort, infraUp, startStack } from '@chat/infra';
import { intFromEnv, loadConfig, sleep } from '@chat/platform';
import { signUp } from '@chat/test/accounts';
import { gql, wsClient } from '@chat/test/graphql';
import { runOpenLoop, waitFor } from './open-loop.ts';
import { cpuBetween, cpuFigures, memoryMiB, sampleCpu, type CpuSample } from './proc.ts';
import { measureRawLimits } from './raw-limits.ts';
import { createRooms, DESCRIBE_SEND_TO, messageSender, sendToFromEnv, type SendTo } from './sender.ts';
import { stackEnvFromEnv } from './stack-env.ts';
import { summarize, Tally } from './stats.ts';

// Live delivery under a fixed offered load (open loop): the platform on the real stack, then
// the same load through a plain Socket.IO relay with the Redis adapter (socketio-relay.ts),
// side by side in one run with the raw limits measured first.
//
// ROOMS rooms with SUBSCRIBERS subscribers each, one socket per subscriber, and RATE messages
// per second sent round-robin over the rooms (open-loop.ts: each at its scheduled time whatever
// happened to the ones before). On the platform a subscriber is a graphql-ws socket of a user who
// is a member of every room, and a message is a sendMessage mutation through the one endpoint
// (SEND_TO=command: straight to the command service); on the relay a subscriber is a Socket.IO
// socket joined to its room and a message an emit. A delivery's latency (end to end) is from the
// message's scheduled send to its arrival at one subscriber; "to every subscriber" is the slowest
// of a message's deliveries; deliveries and answers that never came count as infinitely late.
// CPU is every process's on the box (proc.ts) over the measured window, per accepted message,
// and the delivering process's (the query service, the relay) per delivery. Before the load,
// IDLE idle subscriptions are opened and the delivering process's resident memory is read before
// and after (memory per idle subscription; IDLE=0 leaves it out).
//
// Usage: ./chat bench:fanout   (env: ROOMS, SUBSCRIBERS, RATE, DURATION, WARMUP, IDLE, SEND_TO,
//                               TARGETS=platform,socketio, SENDER_CONNECTIONS, STACK_ENV)

/**
 * The sender's keep-alive connections: an open loop needs its offered rate × answer time in
 * flight at once, or sends queue in the load generator. 64 held 1,000 msg/s only while answers
 * took under 64 ms; past that the generator's own queue grew to seconds. Clients sending 1,000
 * messages a second between them would hold far more connections than that.
 */
const SENDER_CONNECTIONS = intFromEnv(process.env, 'SENDER_CONNECTIONS', 256);

export interface FanoutOptions {
  rooms: number;
  subscribers: number;
  rate: number;
  durationSeconds: number;
  warmupSeconds: number;
  idle: number;
  sendTo: SendTo;
}

export type TargetName = 'platform' | 'socketio';

/** What the load needs of a system that delivers messages live. */
interface Target {
  /** The processes it runs, by role (their CPU is reported under these names). */
  pids: Record<string, number>;
  /** The role of the process that delivers (its CPU per delivery and memory are reported). */
  deliverer: string;
  /** Its event loop's delay p50/p99/max in ms since the last call, where it reports one. */
  loopDelayMs?(): Promise<{ p50: number; p99: number; max: number }>;
  /** Starts subscriber `s` of room `r`; `onMessage` gets each message's id (from the room's start, where the target can replay). */
  subscribe(r: number, s: number, onMessage: (id: string) => void): Promise<() => Promise<void>>;
  /** Sends message `id` to room `r`; resolves with its outcome. */
  send(id: string, r: number): Promise<string>;
  stop(): Promise<void>;
}

async function platformTarget(o: FanoutOptions): Promise<Target> {
  const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
  const LIVE = `subscription($roomId: ID!, $after: String) { messageAdded(roomId: $roomId, after: $after) { sequence clientMessageId body sentAt } }`;
  // Every idle subscription admitted: the per-user cap would refuse most of them (a few users hold them all).
  // Every socket comes from this one address, and the idle ones are many: the caps are raised to fit.
  const sockets = o.idle + o.rooms * o.subscribers + 100;
  // Connections besides the sockets: each subscriber's sign-up and joins leave a kept-alive
  // connection for a few seconds (10 × 100 exceeded a cap of sockets alone, and every socket past
  // it was reset), and the sender holds its own pool.
  const connections = String(sockets + o.subscribers + SENDER_CONNECTIONS);
  const stack = await startStack('bench-fanout', {
    SUBSCRIPTIONS_PER_USER: String(o.idle + o.rooms * o.subscribers),
    WS_MAX_SOCKETS: String(sockets),
    HTTP_MAX_CONNECTIONS: connections,
    HTTP_CONNECTIONS_PER_ADDRESS: connections,
    ...stackEnvFromEnv(),
  });
  const owner = (await signUp(stack.queryUrl, 'fanbench')).accessToken;
  const rooms = await createRooms(stack, owner, o.rooms);
  const members = await Promise.all(
    Array.from({ length: o.subscribers }, async (_, u) => {
      const token = (await signUp(stack.queryUrl, `fan${u}`)).accessToken;
      for (const roomId of rooms) await gql(stack.queryUrl, JOIN, { roomId }, token);
      return token;
    }),
  );
  const sender = messageSender(stack, o.sendTo, owner, SENDER_CONNECTIONS);
  const query = stack.instance('query-service');
  return {
    pids: Object.fromEntries((['command-service', 'projector', 'query-service'] as const).map((s) => [s, stack.instance(s).pid])),
    deliverer: 'query-service',
    loopDelayMs: async () => {
      const text = await (await fetch(`${query.internalUrl}/metrics`)).text();
      const metric = (name: string) => Math.round(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]) * 10_000) / 10;
      return {
        p50: metric('nodejs_eventloop_lag_p50_seconds'),
        p99: metric('nodejs_eventloop_lag_p99_seconds'),
        max: metric('nodejs_eventloop_lag_max_seconds'),
      };
    },
    subscribe: async (r, s, onMessage) => {
      const client: Client = wsClient(stack.queryWsUrl, members[s % o.subscribers]);
      client.subscribe<{ messageAdded: { clientMessageId: string } }>(
        // From the start: a subscription that connects after the warm-up message still gets it.
        { query: LIVE, variables: { roomId: rooms[r % o.rooms], after: '0' } },
        {
          next: (value) => value.data && onMessage(value.data.messageAdded.clientMessageId),
          error: (error) => console.error('subscription failed', error),
          complete: () => undefined,
        },
      );
      return () => client.dispose() as Promise<void>;
    },
    send: (id, r) => sender.send(rooms[r]!, `load ${id}`, id),
    stop: async () => {
      await sender.close();
      await stack.stop();
    },
  };
}

async function socketIoTarget(o: FanoutOptions): Promise<Target> {
  const port = await freePort();
  const config = loadConfig();
  const relay = spawn(process.execPath, [new URL('./socketio-relay.ts', import.meta.url).pathname], {
    env: { ...process.env, PORT: String(port), REDIS_URL: config.redisUrl, REDIS_PREFIX: `bench-${Date.now()}:` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    relay.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    relay.once('exit', (code) => reject(new Error(`the relay exited (${code})`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const connect = async () => {
    const socket = socketIo(url, { transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
    return socket;
  };
  const senders: Socket[] = [];
  for (let i = 0; i < 8; i++) senders.push(await connect());
  let next = 0;
  return {
    pids: { relay: relay.pid! },
    deliverer: 'relay',
    subscribe: async (r, _s, onMessage) => {
      const socket = await connect();
      socket.on('message', (message: { id: string }) => onMessage(message.id));
      await socket.emitWithAck('join', `room-${r % o.rooms}`);
      return async () => void socket.disconnect();
    },
    send: (id, r) =>
      senders[(next = (next + 1) % senders.length)]!.emitWithAck('send', { room: `room-${r}`, id, body: `load ${id}` }) as Promise<string>,
    stop: async () => {
      for (const socket of senders) socket.disconnect();
      const exited = new Promise((resolve) => relay.once('exit', resolve));
      relay.kill('SIGTERM');
      await exited;
    },
  };
}

async function measure(target: Target, o: FanoutOptions) {
  // Scheduled send time per measured message, by its id; arrival times per message.
  const scheduledAt = new Map<string, number>();
  const deliveries: number[] = [];
  const slowest = new Map<string, { latest: number; count: number }>();
  let delivered = 0;
  const onMessage = (id: string) => {
    delivered++;
    const at = scheduledAt.get(id);
    if (at === undefined) return;
    const latency = performance.now() - at;
    deliveries.push(latency);
    const entry = slowest.get(id) ?? { latest: 0, count: 0 };
    entry.latest = Math.max(entry.latest, latency);
    entry.count++;
    slowest.set(id, entry);
  };
  const closers: (() => Promise<void>)[] = [];
  for (let r = 0; r < o.rooms; r++) for (let s = 0; s < o.subscribers; s++) closers.push(await target.subscribe(r, s, onMessage));

  // Every subscription live: a first message per room reaches every subscriber.
  for (let r = 0; r < o.rooms; r++) await target.send(`warm-up-${r}`, r);
  if (!(await waitFor(() => delivered >= o.rooms * o.subscribers, 60_000))) {
    throw new Error(`only ${delivered} of ${o.rooms * o.subscribers} first deliveries arrived`);
  }

  // Idle subscriptions, before any load (so the heap has no garbage to hide them in): the
  // process's memory before and after IDLE more, which are then closed.
  let idle: { count: number; rssMiB: { before: number; after: number }; kibPerSubscription: number } | undefined;
  if (o.idle > 0) {
    await sleep(2000);
    const before = memoryMiB(target.pids[target.deliverer]!).rss;
    const opened = await Promise.all(Array.from({ length: o.idle }, (_, s) => target.subscribe(s, s, () => undefined)));
    await sleep(10_000);
    const after = memoryMiB(target.pids[target.deliverer]!).rss;
    await Promise.all(opened.map((close) => close()));
    await sleep(2000);
    idle = { count: o.idle, rssMiB: { before, after }, kibPerSubscription: Math.round(((after - before) * 1024) / o.idle) };
  }

  const outcomes = new Tally();
  const answers: number[] = [];
  let start: { cpu: CpuSample; delivered: number } | undefined;
  const loop = await runOpenLoop({
    rate: o.rate,
    warmupSeconds: o.warmupSeconds,
    durationSeconds: o.durationSeconds,
    onWindowStart: () => {
      start = { cpu: sampleCpu(target.pids), delivered };
      void target.loopDelayMs?.(); // each scrape starts the delay histogram afresh
    },
    send: async (i, scheduled, measured) => {
      const id = `f-${i}`;
      if (measured) scheduledAt.set(id, scheduled);
      const outcome = await target.send(id, i % o.rooms);
      if (!measured) return;
      outcomes.add(outcome);
      answers.push(performance.now() - scheduled);
    },
  });
  const accepted = outcomes.get('MessageAccepted');
  const expected = accepted * o.subscribers;
  await waitFor(() => deliveries.length >= expected, 30_000);
  const window = cpuBetween(start!.cpu, sampleCpu(target.pids));
  const inWindow = delivered - start!.delivered;
  const loopDelay = await target.loopDelayMs?.();
  await Promise.all(closers.map((close) => close()));
  const complete = [...slowest.values()].filter((e) => e.count === o.subscribers).map((e) => e.latest);
  const measured = o.rate * o.durationSeconds;
  return {
    achievedOfferedRate: loop.achievedRate,
    acceptedPerSecond: Math.round(accepted / window.seconds),
    outcomes: outcomes.toJSON(),
    deliveries: { expected, arrived: deliveries.length, perSecond: Math.round(inWindow / window.seconds) },
    // The platform answers a send once the read models include it (read-your-writes): what
    // delivery adds to this is Redis and the query service.
    answerMs: summarize(answers, measured - answers.length),
    e2eDeliveryMs: summarize(deliveries, expected - deliveries.length),
    toEverySubscriberMs: summarize(complete, accepted - complete.length),
    eventLoopDelayMsOverTheWindow: loopDelay,
    cpuPerAcceptedMessage: cpuFigures(window, accepted),
    delivererCpuMicrosecondsPerDelivery: Math.round(((window.ms[target.deliverer] ?? 0) * 1000) / Math.max(1, inWindow)),
    idleSubscriptions: idle,
  };
}

export type FanoutResult = Awaited<ReturnType<typeof measure>>;

/** One workload on each of `targets` in turn, each on its own fresh stack (or relay). */
export async function runFanout(o: FanoutOptions, targets: TargetName[]): Promise<Partial<Record<TargetName, FanoutResult>>> {
  const results: Partial<Record<TargetName, FanoutResult>> = {};
  for (const name of targets) {
    const target = name === 'socketio' ? await socketIoTarget(o) : await platformTarget(o);
    try {
      results[name] = await measure(target, o);
    } finally {
      await target.stop();
    }
  }
  return results;
}

export const FANOUT_METHOD =
  'open loop, fixed offered rate; latency from each message’s scheduled send; CPU of every process from /proc over the window';

if (import.meta.url === `file://${process.argv[1]}`) {
  const options: FanoutOptions = {
    rooms: intFromEnv(process.env, 'ROOMS', 100),
    subscribers: intFromEnv(process.env, 'SUBSCRIBERS', 10),
    rate: intFromEnv(process.env, 'RATE', 200),
    durationSeconds: intFromEnv(process.env, 'DURATION', 20),
    warmupSeconds: intFromEnv(process.env, 'WARMUP', 3),
    idle: intFromEnv(process.env, 'IDLE', 10_000),
    sendTo: sendToFromEnv(),
  };
  const targets = (process.env.TARGETS ?? 'platform,socketio').split(',') as TargetName[];
  await infraUp();
  const rawLimits = await measureRawLimits();
  const results = await runFanout(options, targets);
  console.log(
    JSON.stringify(
      {
        method: FANOUT_METHOD,
        sentTo: DESCRIBE_SEND_TO[options.sendTo],
        offered: {
          ratePerSecond: options.rate,
          seconds: options.durationSeconds,
          rooms: options.rooms,
          subscribersPerRoom: options.subscribers,
        },
        ...results,
        rawLimits,
      },
      null,
      2,
    ),
  );
}
