import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Client } from 'graphql-ws';
import { io as socketIo, type Socket } from 'socket.io-client';
import { Agent, request } from 'undici';
import { infraUp, startStack } from '@chat/infra';
import { intFromEnv, loadConfig, sleep } from '@chat/platform';
import { signUp } from '@chat/test/accounts';
import { gql, wsClient } from '@chat/test/graphql';
import { instanceHeaders } from './instance-headers.ts';
import { cpuMs, memoryMiB } from './proc.ts';
import { measureRawLimits } from './raw-limits.ts';
import { summarize } from './stats.ts';

// Live delivery under a fixed offered load (open loop): the platform on the real stack, then
// the same load through a plain Socket.IO relay with the Redis adapter (socketio-relay.ts),
// side by side in one run with the raw limits measured first.
//
// ROOMS rooms with SUBSCRIBERS subscribers each, one socket per subscriber, and RATE messages
// per second sent round-robin over the rooms, each at its scheduled time whatever happened to
// the ones before. On the platform a subscriber is a graphql-ws socket of a user who is a
// member of every room, and a message is a sendMessage mutation to the command service; on
// the relay a subscriber is a Socket.IO socket joined to its room and a message an emit.
// A delivery's latency is from the message's scheduled send to its arrival at one
// subscriber; "to every subscriber" is the slowest of a message's deliveries. CPU per delivery
// is the delivering process's (the query service, the relay) user + system time over the
// measured window, from /proc. Before the load, IDLE idle subscriptions are opened and the
// process's resident memory is read before and after (memory per idle subscription).
//
// Usage: ./chat bench:fanout   (env: ROOMS, SUBSCRIBERS, RATE, DURATION, WARMUP, IDLE,
//                               TARGETS=platform,socketio)

const ROOMS = intFromEnv(process.env, 'ROOMS', 100);
const SUBSCRIBERS = intFromEnv(process.env, 'SUBSCRIBERS', 10);
const RATE = intFromEnv(process.env, 'RATE', 200);
const DURATION = intFromEnv(process.env, 'DURATION', 20);
const WARMUP = intFromEnv(process.env, 'WARMUP', 3);
const IDLE = intFromEnv(process.env, 'IDLE', 10_000);
const TARGETS = (process.env.TARGETS ?? 'platform,socketio').split(',');

/** What the load needs of a system that delivers messages live. */
interface Target {
  /** The process that delivers (its CPU and memory are measured). */
  pid: number;
  /** Its event loop's delay p50/p99/max in ms since the last call, where it reports one. */
  loopDelayMs?(): Promise<{ p50: number; p99: number; max: number }>;
  /** Starts subscriber `s` of room `r`; `onMessage` gets each message's id (from the room's start, where the target can replay). */
  subscribe(r: number, s: number, onMessage: (id: string) => void): Promise<() => Promise<void>>;
  /** Sends message `id` to room `r`; resolves with its outcome. */
  send(id: string, r: number): Promise<string>;
  stop(): Promise<void>;
}

async function platformTarget(): Promise<Target> {
  const CREATE = `mutation($key: ID!) { createRoom(name: "fan-out", commandId: $key) { ... on RoomAccepted { roomId } ... on CommandError { code } } }`;
  const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
  const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) { __typename ... on CommandError { code } } }`;
  const LIVE = `subscription($roomId: ID!, $after: String) { messageAdded(roomId: $roomId, after: $after) { sequence clientMessageId body sentAt } }`;
  // Every idle subscription admitted: the per-user cap would refuse most of them (a few users hold them all).
  // Every socket comes from this one address, and the idle ones are many: the caps are raised to fit.
  const sockets = String(IDLE + ROOMS * SUBSCRIBERS + 100);
  const stack = await startStack('bench-fanout', {
    SUBSCRIPTIONS_PER_USER: String(IDLE + ROOMS * SUBSCRIBERS),
    WS_MAX_SOCKETS: sockets,
    HTTP_MAX_CONNECTIONS: sockets,
    HTTP_CONNECTIONS_PER_ADDRESS: sockets,
  });
  const owner = (await signUp(stack.queryUrl, 'fanbench')).accessToken;
  const rooms: string[] = [];
  for (let r = 0; r < ROOMS; r++) rooms.push((await gql(stack.queryUrl, CREATE, { key: `room-${r}` }, owner)).createRoom.roomId as string);
  const members: string[] = [];
  for (let u = 0; u < SUBSCRIBERS; u++) {
    const token = (await signUp(stack.queryUrl, `fan${u}`)).accessToken;
    for (const roomId of rooms) await gql(stack.queryUrl, JOIN, { roomId }, token);
    members.push(token);
  }
  const agent = new Agent({ connections: 64, pipelining: 1 });
  // Straight to the command service: through the one endpoint the query service would spend
  // its CPU proxying mutations too, and its CPU per delivery is what this measures.
  const url = new URL(stack.commandUrl);
  return {
    pid: stack.instance('query-service').pid,
    loopDelayMs: async () => {
      const text = await (await fetch(`${stack.instance('query-service').internalUrl}/metrics`)).text();
      const metric = (name: string) => Math.round(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]) * 10_000) / 10;
      return {
        p50: metric('nodejs_eventloop_lag_p50_seconds'),
        p99: metric('nodejs_eventloop_lag_p99_seconds'),
        max: metric('nodejs_eventloop_lag_max_seconds'),
      };
    },
    subscribe: async (r, s, onMessage) => {
      const client: Client = wsClient(stack.queryWsUrl, members[s % SUBSCRIBERS]);
      client.subscribe<{ messageAdded: { clientMessageId: string } }>(
        // From the start: a subscription that connects after the warm-up message still gets it.
        { query: LIVE, variables: { roomId: rooms[r % ROOMS], after: '0' } },
        {
          next: (value) => value.data && onMessage(value.data.messageAdded.clientMessageId),
          error: (error) => console.error('subscription failed', error),
          complete: () => undefined,
        },
      );
      return () => client.dispose() as Promise<void>;
    },
    send: async (id, r) => {
      const body = JSON.stringify({ query: SEND, variables: { roomId: rooms[r], body: `load ${id}`, id } });
      const response = await request(url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}`, ...instanceHeaders(url, body) },
        body,
      }).catch((error: unknown) => ({ error }));
      if ('error' in response) return 'network error';
      const answer = (await response.body.json()) as { data?: { sendMessage: { __typename: string; code?: string } } };
      return answer.data?.sendMessage.code ?? answer.data?.sendMessage.__typename ?? 'GraphQL error';
    },
    stop: async () => {
      await agent.close();
      await stack.stop();
    },
  };
}

async function socketIoTarget(): Promise<Target> {
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
    pid: relay.pid!,
    subscribe: async (r, _s, onMessage) => {
      const socket = await connect();
      socket.on('message', (message: { id: string }) => onMessage(message.id));
      await socket.emitWithAck('join', `room-${r % ROOMS}`);
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

async function measure(target: Target) {
  // Scheduled send time per message, by its id; arrival times per message.
  const scheduledAt = new Map<string, number>();
  const deliveries: number[] = [];
  const slowest = new Map<string, { latest: number; count: number }>();
  let delivered = 0;
  let measuring = false;
  const onMessage = (id: string) => {
    delivered++;
    const at = scheduledAt.get(id);
    if (at === undefined || !measuring) return;
    const latency = performance.now() - at;
    deliveries.push(latency);
    const entry = slowest.get(id) ?? { latest: 0, count: 0 };
    entry.latest = Math.max(entry.latest, latency);
    entry.count++;
    slowest.set(id, entry);
  };
  const closers: (() => Promise<void>)[] = [];
  for (let r = 0; r < ROOMS; r++) for (let s = 0; s < SUBSCRIBERS; s++) closers.push(await target.subscribe(r, s, onMessage));
  const outcomes = new Map<string, number>();
  const answers: number[] = [];
  const send = async (id: string, r: number) => {
    const outcome = await target.send(id, r);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const at = scheduledAt.get(id);
    if (at !== undefined) answers.push(performance.now() - at);
  };

  // Every subscription live: a first message per room reaches every subscriber.
  for (let r = 0; r < ROOMS; r++) await send(`warm-up-${r}`, r);
  for (const deadline = performance.now() + 60_000; delivered < ROOMS * SUBSCRIBERS;) {
    if (performance.now() > deadline) throw new Error(`only ${delivered} of ${ROOMS * SUBSCRIBERS} first deliveries arrived`);
    await sleep(100);
  }
  outcomes.clear();

  // Idle subscriptions, before any load (so the heap has no garbage to hide them in): the
  // process's memory before and after IDLE more, which are then closed.
  await sleep(2000);
  const idleBefore = memoryMiB(target.pid).rss;
  const idle = await Promise.all(Array.from({ length: IDLE }, (_, s) => target.subscribe(s, s, () => undefined)));
  await sleep(10_000);
  const idleAfter = memoryMiB(target.pid).rss;
  await Promise.all(idle.map((close) => close()));
  await sleep(2000);

  const total = RATE * (WARMUP + DURATION);
  const start = performance.now() + 100;
  const inFlight: Promise<void>[] = [];
  let window: { at: number; cpu: number; delivered: number; load: NodeJS.CpuUsage } | undefined;
  for (let i = 0; i < total; i++) {
    const scheduled = start + (i * 1000) / RATE;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    if (i === RATE * WARMUP) {
      measuring = true;
      window = { at: performance.now(), cpu: cpuMs(target.pid), delivered, load: process.cpuUsage() };
      void target.loopDelayMs?.(); // each scrape starts the delay histogram afresh
    }
    if (measuring) scheduledAt.set(`f-${i}`, scheduled);
    inFlight.push(send(`f-${i}`, i % ROOMS));
  }
  const offeredSeconds = (performance.now() - window!.at) / 1000;
  await Promise.all(inFlight);
  const expected = RATE * DURATION * SUBSCRIBERS;
  for (const deadline = performance.now() + 30_000; deliveries.length < expected && performance.now() < deadline;) await sleep(100);
  const windowSeconds = (performance.now() - window!.at) / 1000;
  const cpu = cpuMs(target.pid) - window!.cpu;
  const inWindow = delivered - window!.delivered;
  const loadCpu = process.cpuUsage(window!.load);
  const loopDelay = await target.loopDelayMs?.();
  await Promise.all(closers.map((close) => close()));
  return {
    achievedOfferedRate: Math.round((RATE * DURATION) / offeredSeconds),
    outcomes: Object.fromEntries(outcomes),
    deliveries: { expected, arrived: deliveries.length, perSecond: Math.round(inWindow / windowSeconds) },
    // The platform answers a send once the read models include it (read-your-writes): what
    // delivery adds to this is Redis and the query service.
    sendAnswerLatencyMs: summarize(answers),
    deliveryLatencyMs: summarize(deliveries),
    toEverySubscriberMs: summarize([...slowest.values()].filter((e) => e.count === SUBSCRIBERS).map((e) => e.latest)),
    eventLoopDelayMsOverTheWindow: loopDelay,
    cpuMicrosecondsPerDelivery: Math.round((cpu * 1000) / Math.max(1, inWindow)),
    cpuShare: Math.round(cpu / 10 / windowSeconds) / 100,
    loadGeneratorCpuShare: Math.round((loadCpu.user + loadCpu.system) / 10_000 / windowSeconds) / 100,
    idleSubscriptions: {
      count: IDLE,
      rssMiB: { before: idleBefore, after: idleAfter },
      kibPerSubscription: Math.round(((idleAfter - idleBefore) * 1024) / IDLE),
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

await infraUp();
const rawLimits = await measureRawLimits();
const results: Record<string, unknown> = {};
for (const name of TARGETS) {
  const target = name === 'socketio' ? await socketIoTarget() : await platformTarget();
  try {
    results[name === 'socketio' ? 'socketIoRelay' : 'platform (query service)'] = await measure(target);
  } finally {
    await target.stop();
  }
}
console.log(
  JSON.stringify(
    {
      method:
        'open loop, fixed offered rate; latency from each message’s scheduled send; CPU of the delivering process from /proc over the window',
      offered: { ratePerSecond: RATE, seconds: DURATION, rooms: ROOMS, subscribersPerRoom: SUBSCRIBERS },
      ...results,
      rawLimits,
    },
    null,
    2,
  ),
);
