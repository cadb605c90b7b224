import { performance } from 'node:perf_hooks';
import type { Client } from 'graphql-ws';
import { Agent, request } from 'undici';
import { infraUp, startStack } from '@chat/infra';
import { intFromEnv, sleep } from '@chat/platform';
import { signUp } from '@chat/test/accounts';
import { gql, wsClient } from '@chat/test/graphql';
import { cpuMs, memoryMiB } from './proc.ts';
import { measureRawLimits } from './raw-limits.ts';
import { summarize } from './stats.ts';

// Live delivery under a fixed offered load (open loop), on the real stack.
//
// ROOMS rooms with SUBSCRIBERS subscribers each, one graphql-ws socket per subscriber (as
// many users as SUBSCRIBERS, each a member of every room), and RATE messages per second sent
// round-robin over the rooms through the command service, each at its scheduled time whatever
// happened to the ones before. A delivery's latency is from the message's scheduled send to
// its arrival at one subscriber; "to every subscriber" is the slowest of a message's
// deliveries. CPU per delivery is the query service's user + system time over the measured
// window, from /proc. Before the load, IDLE idle subscriptions are opened and the query
// service's resident memory is read before and after (memory per idle subscription).
//
// Usage: ./chat bench:fanout   (env: ROOMS, SUBSCRIBERS, RATE, DURATION, WARMUP, IDLE)

const ROOMS = intFromEnv(process.env, 'ROOMS', 100);
const SUBSCRIBERS = intFromEnv(process.env, 'SUBSCRIBERS', 10);
const RATE = intFromEnv(process.env, 'RATE', 200);
const DURATION = intFromEnv(process.env, 'DURATION', 20);
const WARMUP = intFromEnv(process.env, 'WARMUP', 3);
const IDLE = intFromEnv(process.env, 'IDLE', 10_000);

const CREATE = `mutation($key: ID!) { createRoom(name: "fan-out", commandId: $key) { ... on RoomAccepted { roomId } ... on CommandError { code } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) { __typename ... on CommandError { code } } }`;
const LIVE = `subscription($roomId: ID!, $after: String) { messageAdded(roomId: $roomId, after: $after) { sequence clientMessageId body sentAt } }`;

await infraUp();
const raw = await measureRawLimits();
// Every idle subscription admitted: the per-user cap would refuse most of them (a few users hold them all).
const stack = await startStack('bench-fanout', { SUBSCRIPTIONS_PER_USER: String(IDLE + ROOMS * SUBSCRIBERS) });
const clients: Client[] = [];
try {
  const owner = (await signUp(stack.commandUrl, 'fanbench')).accessToken;
  const rooms: string[] = [];
  for (let r = 0; r < ROOMS; r++)
    rooms.push((await gql(stack.commandUrl, CREATE, { key: `room-${r}` }, owner)).createRoom.roomId as string);
  const members: string[] = [];
  for (let u = 0; u < SUBSCRIBERS; u++) {
    const token = (await signUp(stack.commandUrl, `fan${u}`)).accessToken;
    for (const roomId of rooms) await gql(stack.commandUrl, JOIN, { roomId }, token);
    members.push(token);
  }

  // Scheduled send time per message, by its client message id; arrival times per message.
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
  for (const roomId of rooms) {
    for (const token of members) {
      const client = wsClient(stack.queryWsUrl, token);
      clients.push(client);
      client.subscribe<{ messageAdded: { clientMessageId: string } }>(
        { query: LIVE, variables: { roomId, after: '0' } },
        {
          next: (value) => value.data && onMessage(value.data.messageAdded.clientMessageId),
          error: (error) => console.error('subscription failed', error),
          complete: () => undefined,
        },
      );
    }
  }
  const agent = new Agent({ connections: 64, pipelining: 1 });
  const url = new URL(stack.commandUrl);
  const outcomes = new Map<string, number>();
  const send = async (id: string, roomId: string) => {
    const response = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` },
      body: JSON.stringify({ query: SEND, variables: { roomId, body: `load ${id}`, id } }),
    }).catch((error: unknown) => ({ error }));
    const outcome =
      'error' in response
        ? 'network error'
        : (((await response.body.json()) as { data?: { sendMessage: { __typename: string; code?: string } } }).data?.sendMessage.code ??
          'MessageAccepted');
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  };

  // Every subscription live: a first message per room reaches every subscriber.
  for (let r = 0; r < ROOMS; r++) await send(`warm-up-${r}`, rooms[r]!);
  for (const deadline = performance.now() + 60_000; delivered < ROOMS * SUBSCRIBERS;) {
    if (performance.now() > deadline) throw new Error(`only ${delivered} of ${ROOMS * SUBSCRIBERS} first deliveries arrived`);
    await sleep(100);
  }
  outcomes.clear();

  // Idle subscriptions, before any load (so the heap has no garbage to hide them in): the query
  // service's memory before and after IDLE more, which are then closed.
  const query = stack.instance('query-service').pid;
  await sleep(2000);
  const idleBefore = memoryMiB(query).rss;
  const idle: Client[] = [];
  let idleRefused = 0;
  for (let s = 0; s < IDLE; s++) {
    const client = wsClient(stack.queryWsUrl, members[s % members.length]);
    idle.push(client);
    client.subscribe(
      { query: LIVE, variables: { roomId: rooms[s % ROOMS] } },
      { next: () => undefined, error: () => idleRefused++, complete: () => undefined },
    );
  }
  await sleep(10_000);
  const idleAfter = memoryMiB(query).rss;
  if (idleRefused > 0) throw new Error(`${idleRefused} idle subscriptions were refused`);
  await Promise.all(idle.map((c) => c.dispose()));
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
      window = { at: performance.now(), cpu: cpuMs(query), delivered, load: process.cpuUsage() };
    }
    if (measuring) scheduledAt.set(`f-${i}`, scheduled);
    inFlight.push(send(`f-${i}`, rooms[i % ROOMS]!));
  }
  const offeredSeconds = (performance.now() - window!.at) / 1000;
  await Promise.all(inFlight);
  const expected = RATE * DURATION * SUBSCRIBERS;
  for (const deadline = performance.now() + 30_000; deliveries.length < expected && performance.now() < deadline;) await sleep(100);
  const windowSeconds = (performance.now() - window!.at) / 1000;
  const queryCpu = cpuMs(query) - window!.cpu;
  const inWindow = delivered - window!.delivered;
  const loadCpu = process.cpuUsage(window!.load);
  measuring = false;

  await agent.close();

  console.log(
    JSON.stringify(
      {
        method: 'open loop, fixed offered rate; latency from each message’s scheduled send; query-service CPU from /proc over the window',
        offered: { ratePerSecond: RATE, seconds: DURATION, rooms: ROOMS, subscribersPerRoom: SUBSCRIBERS },
        achievedOfferedRate: Math.round((RATE * DURATION) / offeredSeconds),
        outcomes: Object.fromEntries(outcomes),
        deliveries: { expected, arrived: deliveries.length, perSecond: Math.round(inWindow / windowSeconds) },
        deliveryLatencyMs: summarize(deliveries),
        toEverySubscriberMs: summarize([...slowest.values()].filter((e) => e.count === SUBSCRIBERS).map((e) => e.latest)),
        queryServiceCpuMicrosecondsPerDelivery: Math.round((queryCpu * 1000) / Math.max(1, inWindow)),
        queryServiceCpuShare: Math.round(queryCpu / 10 / windowSeconds) / 100,
        loadGeneratorCpuShare: Math.round((loadCpu.user + loadCpu.system) / 10_000 / windowSeconds) / 100,
        idleSubscriptions: {
          count: IDLE,
          queryServiceRssMiB: { before: idleBefore, after: idleAfter },
          kibPerSubscription: Math.round(((idleAfter - idleBefore) * 1024) / IDLE),
        },
        rawLimits: raw,
      },
      null,
      2,
    ),
  );
} finally {
  await Promise.all(clients.map((c) => c.dispose()));
  await stack.stop();
}
