import { performance } from 'node:perf_hooks';
import { infraUp, startStack } from '@chat/infra';
import { intFromEnv } from '@chat/platform';
import { signUp } from '@chat/test/accounts';
import { measureRawLimits } from './raw-limits.ts';
import { collect, gql, wsClient } from '@chat/test/graphql';
import { summarize } from './stats.ts';

// Messaging benchmark on this machine, against the real stack (three service processes,
// Kafka, registry, Postgres, Redis), isolated like a test. Never part of `npm test`.
//
//   1. latency: one sender, sequential sendMessage calls; time from request to answer
//      (the answer waits for Kafka's ack and for the projection: read-your-writes), and
//      from request to arrival at a graphql-ws subscriber in the room.
//   2. throughput: CONCURRENCY senders spread over ROOMS rooms, each sending as fast as
//      answers come back, for MESSAGES messages in all.
//
// Usage: ./chat bench   (env: LATENCY_MESSAGES, MESSAGES, CONCURRENCY, ROOMS)

const LATENCY_MESSAGES = intFromEnv(process.env, 'LATENCY_MESSAGES', 300);
const MESSAGES = intFromEnv(process.env, 'MESSAGES', 3000);
const CONCURRENCY = intFromEnv(process.env, 'CONCURRENCY', 32);
const ROOMS = intFromEnv(process.env, 'ROOMS', 16);

const CREATE = `mutation { createRoom(name: "bench") { ... on RoomAccepted { roomId } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on MessageAccepted { receipt { projected } } ... on CommandError { code message } } }`;
const LIVE = `subscription($roomId: ID!) { messageAdded(roomId: $roomId, after: "0") { body } }`;

await infraUp();
const stack = await startStack('bench');
try {
  const bench = (await signUp(stack.commandUrl, 'bench')).accessToken;
  const send = async (roomId: string, body: string, id: string) => {
    const result = await gql(stack.commandUrl, SEND, { roomId, body, id }, bench);
    if (result.sendMessage.__typename !== 'MessageAccepted') throw new Error(JSON.stringify(result.sendMessage));
    return result.sendMessage.receipt.projected as boolean;
  };

  // 1. Latency, with a live subscriber.
  const roomId = (await gql(stack.commandUrl, CREATE, {}, bench)).createRoom.roomId as string;
  const client = wsClient(stack.queryWsUrl, bench);
  const sentAt = new Map<string, number>();
  const liveLatency: number[] = [];
  const live = collect<{ messageAdded: { body: string } }>(client, LIVE, { roomId }, LATENCY_MESSAGES + 1, (item) => {
    const started = sentAt.get(item.messageAdded.body);
    if (started !== undefined) liveLatency.push(performance.now() - started);
  });
  // From cursor 0 the warm-up arrives whenever the subscription starts; after it, all is live.
  await send(roomId, 'warm-up', 'warm-up');
  await new Promise((r) => setTimeout(r, 500));
  const answerLatency: number[] = [];
  let notProjected = 0;
  for (let i = 0; i < LATENCY_MESSAGES; i++) {
    const body = `latency ${i}`;
    const started = performance.now();
    sentAt.set(body, started);
    if (!(await send(roomId, body, `l-${i}`))) notProjected++;
    answerLatency.push(performance.now() - started);
  }
  await live.done;
  live.unsubscribe();
  await client.dispose();

  // 2. Throughput.
  const rooms = await Promise.all(
    Array.from({ length: ROOMS }, async () => (await gql(stack.commandUrl, CREATE, {}, bench)).createRoom.roomId as string),
  );
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < MESSAGES; i = next++) await send(rooms[i % ROOMS]!, `load ${i}`, `t-${i}`);
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  const report = {
    machine: 'this machine; all processes on loopback',
    latency: {
      messages: LATENCY_MESSAGES,
      mutationAnswerMs: summarize(answerLatency),
      sendToLiveDeliveryMs: summarize(liveLatency),
      answeredBeforeProjected: notProjected,
    },
    throughput: {
      messages: MESSAGES,
      concurrency: CONCURRENCY,
      rooms: ROOMS,
      seconds: Math.round(seconds * 10) / 10,
      perSecond: Math.round(MESSAGES / seconds),
    },
    // Measured in this run, after the load, on the same machine.
    rawLimits: await measureRawLimits(stack.config),
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await stack.stop();
}
