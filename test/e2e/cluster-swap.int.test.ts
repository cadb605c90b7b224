import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, serviceEnv, startStack, type Stack } from '@chat/infra';
import { createKafka, ensureTopics, loadConfig } from '@chat/platform';
import { signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';
import { OwnKafka } from '../src/faults/own-kafka.ts';
import { readinessCheck } from '../src/readiness.ts';

// The incident this guards against: the broker came back on the same address with empty
// storage (another cluster: a container started instead of the native broker), while the
// services ran. Running services must notice by themselves (no restart), stop deciding and
// projecting, and say why in their readiness, rather than append retried keys again as new
// messages into the new log and skip the read models past offsets that now name other records.

const CREATE_ROOM = `mutation { createRoom(name: "swap") { ... on RoomAccepted { roomId } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $id: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $id) {
  __typename ... on CommandError { code } } }`;
const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, first: 50) { edges { node { body } } } }`;
const ROOM = `query($roomId: ID!) { room(id: $roomId) { id } }`;

let kafka: OwnKafka;
let stack: Stack;
const sharedBrokers = process.env.KAFKA_BROKERS;

beforeAll(async () => {
  kafka = await OwnKafka.create();
  process.env.KAFKA_BROKERS = kafka.brokers;
  stack = await startStack('cluster-swap', { CLUSTER_CHECK_INTERVAL_MS: '1000' });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await kafka?.remove();
  if (sharedBrokers === undefined) delete process.env.KAFKA_BROKERS;
  else process.env.KAFKA_BROKERS = sharedBrokers;
});

const eventLog = (service: 'command-service' | 'projector') => readinessCheck(stack.instance(service), 'event-log');
const bodies = async (roomId: string, token: string) =>
  ((await gql(stack.queryUrl, HISTORY, { roomId }, token)).messages.edges as { node: { body: string } }[]).map((e) => e.node.body);
let accessToken: string;
let roomId: string;

/** `./chat rebuild` with `args`, as an operator runs it (never synchronously: this process relays the broker). */
function rebuild(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['projector/src/rebuild.ts', ...args],
      { cwd: ROOT, env: serviceEnv(stack.config) },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('another Kafka cluster on the same address', () => {
  it('is noticed by the running services, which stop deciding and projecting and say why', async () => {
    accessToken = (await signUp(stack.commandUrl, 'swapped')).accessToken;
    roomId = (await gql(stack.queryUrl, CREATE_ROOM, {}, accessToken)).createRoom.roomId as string;
    for (const id of ['one', 'two']) {
      expect((await gql(stack.queryUrl, SEND, { roomId, body: id, id }, accessToken)).sendMessage.__typename).toBe('MessageAccepted');
    }
    expect(await eventLog('command-service')).toBe('ok');

    await kafka.kill();
    kafka.wipe();
    await kafka.start();
    // The topics made again in the new cluster, as infra:up would.
    const admin = createKafka({ ...loadConfig(), kafkaBrokers: [kafka.brokers] }, 'cluster-swap-test').admin();
    await admin.connect();
    await ensureTopics(admin, stack.config.topicPrefix);
    await admin.disconnect();

    for (const service of ['command-service', 'projector'] as const) {
      await expect.poll(() => eventLog(service), { timeout: 30_000 }).toBe('down');
    }
    // A retry of an accepted key and a new message: neither goes into the new log.
    for (const id of ['two', 'three']) {
      const answer = (await gql(stack.queryUrl, SEND, { roomId, body: id, id }, accessToken)).sendMessage;
      expect(answer.code ?? answer.__typename).toBe('UNAVAILABLE');
    }
    expect(await bodies(roomId, accessToken)).toEqual(['one', 'two']);
  }, 180_000);

  it('is not adopted by a restart either: the services wait for an operator, who adopts the new log with ./chat rebuild --new-log', async () => {
    await stack.stopService('command-service');
    await stack.stopService('projector');
    await stack.startService('projector', 'listening');
    await stack.startService('command-service', 'listening');
    // Restarted on the new cluster, they neither decide nor project, and the read models are kept as they were.
    expect(await eventLog('projector')).toBe('down');
    expect(await eventLog('command-service')).toBe('down');
    const retried = (await gql(stack.queryUrl, SEND, { roomId, body: 'two', id: 'two' }, accessToken)).sendMessage;
    expect(retried.code ?? retried.__typename).toBe('UNAVAILABLE');
    expect(await bodies(roomId, accessToken)).toEqual(['one', 'two']);

    // A plain rebuild refuses (its row hashes would only differ) and names the way out.
    const plain = await rebuild();
    expect(plain.code).toBe(1);
    expect(plain.stderr.split('\n').find((line) => line.startsWith('rebuild: ')) ?? plain.stderr.slice(-2000)).toContain(
      './chat rebuild --new-log',
    );
    const adopted = await rebuild('--new-log', '--json');
    expect(adopted.code, adopted.stderr).toBe(0);
    expect(JSON.parse(adopted.stdout)).toMatchObject({ adopted: expect.any(String), from: stack.config.pgSchema });
    // The read models left behind are the old log's: a rollback never walks the new log into them.
    const rollback = await rebuild('--rollback');
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toContain('nothing to roll back to');

    // The projector follows the switch by itself; the command service, halted at its start, is restarted.
    await expect.poll(() => eventLog('projector'), { timeout: 30_000 }).toBe('ok');
    await stack.stopService('command-service');
    await stack.startService('command-service');
    expect(await eventLog('command-service')).toBe('ok');
    // The new log knows neither the room nor its messages; what happens from now on is served.
    expect((await gql(stack.queryUrl, ROOM, { roomId }, accessToken)).room).toBeNull();
    const { accessToken: fresh } = await signUp(stack.commandUrl, 'adopted');
    const newRoom = (await gql(stack.queryUrl, CREATE_ROOM, {}, fresh)).createRoom.roomId as string;
    expect((await gql(stack.queryUrl, SEND, { roomId: newRoom, body: 'after', id: 'after' }, fresh)).sendMessage.__typename).toBe(
      'MessageAccepted',
    );
    await expect.poll(() => bodies(newRoom, fresh), { timeout: 20_000 }).toEqual(['after']);
  }, 240_000);
});
