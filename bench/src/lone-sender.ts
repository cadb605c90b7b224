import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { infraUp, startStack } from '@chat/infra';
import { intFromEnv } from '@chat/platform';
import { signUp } from '@chat/test/accounts';
import { gql } from '@chat/test/graphql';
import { instanceHeaders } from './instance-headers.ts';
import { cpuMs } from './proc.ts';
import { stackEnvFromEnv } from './stack-env.ts';
import { summarize } from './stats.ts';

// The floor of one message's latency: sendMessage straight to the command service at a fixed
// offered RATE (open loop, from the scheduled time) over ROOMS rooms, without the raw-limit
// measurements or the CPU of the rest of the box that bench:cpu adds. Prints answer latency
// and each service's CPU per command; the services' logs (with STACK_ENV, e.g.
// LOG_LEVEL=debug, passed to them) are named at the end for a closer look.
//
// Usage: RATE=100 ROOMS=100 DURATION=15 node bench/src/lone-sender.ts

const RATE = intFromEnv(process.env, 'RATE', 100);
const ROOMS = intFromEnv(process.env, 'ROOMS', 100);
const DURATION = intFromEnv(process.env, 'DURATION', 15);
const WARMUP = intFromEnv(process.env, 'WARMUP', 3);
const extraEnv = stackEnvFromEnv();

const CREATE = `mutation($key: ID!) { createRoom(name: "bench", commandId: $key) { ... on RoomAccepted { roomId } ... on CommandError { code message } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on CommandError { code } } }`;

await infraUp();
const stack = await startStack('lone-sender', extraEnv);
try {
  const token = (await signUp(stack.commandUrl, 'lone')).accessToken;
  const rooms: string[] = [];
  for (let r = 0; r < ROOMS; r++)
    rooms.push((await gql(stack.commandUrl, CREATE, { key: `room-${r}` }, token)).createRoom.roomId as string);
  const agent = new Agent({ connections: 16, pipelining: 1 });
  const url = new URL(stack.commandUrl);
  const services = ['command-service', 'projector'] as const;
  const latencies: number[] = [];
  const outcomes = new Map<string, number>();
  let cpuStart: Record<string, number> | undefined;
  const sendOne = async (i: number, scheduled: number, measured: boolean) => {
    const body = JSON.stringify({ query: SEND, variables: { roomId: rooms[i % ROOMS], body: `lone ${i}`, id: `lone-${i}` } });
    const response = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...instanceHeaders(url, body) },
      body,
    });
    const result = (await response.body.json()) as { data?: { sendMessage: { __typename: string; code?: string } } };
    if (!measured) return;
    latencies.push(performance.now() - scheduled);
    const outcome = result.data?.sendMessage.code ?? result.data?.sendMessage.__typename ?? 'GraphQLError';
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  };
  const total = RATE * (WARMUP + DURATION);
  const start = performance.now() + 100;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = start + (i * 1000) / RATE;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const measured = i >= RATE * WARMUP;
    if (measured && !cpuStart) cpuStart = Object.fromEntries(services.map((s) => [s, cpuMs(stack.instance(s).pid)]));
    inFlight.push(sendOne(i, scheduled, measured));
  }
  await Promise.all(inFlight);
  const accepted = outcomes.get('MessageAccepted') ?? 0;
  const cpu = Object.fromEntries(
    services.map((s) => [s, Math.round(((cpuMs(stack.instance(s).pid) - cpuStart![s]!) / Math.max(1, accepted)) * 1000) / 1000]),
  );
  await agent.close();
  console.log(
    JSON.stringify({
      offered: { rate: RATE, rooms: ROOMS, seconds: DURATION },
      outcomes: Object.fromEntries(outcomes),
      answerMs: summarize(latencies),
      cpuMsPerCommand: cpu,
      logs: Object.fromEntries(services.map((s) => [s, stack.instance(s).log])),
    }),
  );
} finally {
  await stack.stop();
}
