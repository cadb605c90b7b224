import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type ServiceName, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';

// /metrics after real traffic (a sign-up, a room, messages sent, one delivered live): each
// named series is there with a value above zero, on the service that owns it.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('metrics');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

async function scrape(service: ServiceName): Promise<string> {
  return (await fetch(`${stack.instance(service).internalUrl}/metrics`)).text();
}

/** The sum of a series' samples whose labels contain `labels` (all of them when none are given). */
function total(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((line) => (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('metrics', () => {
  it('count the traffic on each service', async () => {
    const alice = await signUp(stack.queryUrl, 'alice');
    const { createRoom } = await gql(
      stack.queryUrl,
      `mutation { createRoom(name: "metrics") { ... on RoomAccepted { roomId } } }`,
      {},
      alice.accessToken,
    );
    const roomId: string = createRoom.roomId;
    const socket = wsClient(stack.queryWsUrl, alice.accessToken);
    const live = collect<any>(socket, `subscription($r: ID!) { messageAdded(roomId: $r) { body } }`, { r: roomId }, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const send = `mutation($r: ID!, $k: ID!) { sendMessage(roomId: $r, body: "counted", clientMessageId: $k) { __typename } }`;
    for (const k of ['a', 'b', 'c']) await gql(stack.queryUrl, send, { r: roomId, k }, alice.accessToken);
    const [first] = await live.done;
    expect(JSON.stringify(first)).toContain('counted');

    const query = await scrape('query-service');
    expect(total(query, 'graphql_operations_total', 'field="sendMessage"')).toBeGreaterThanOrEqual(3);
    expect(total(query, 'graphql_operations_total', 'type="subscription"')).toBeGreaterThanOrEqual(1);
    expect(total(query, 'graphql_operation_duration_seconds_count', 'field="createRoom"')).toBeGreaterThanOrEqual(1);
    expect(total(query, 'graphql_ws_sockets')).toBeGreaterThanOrEqual(1);
    expect(total(query, 'graphql_ws_operations')).toBeGreaterThanOrEqual(1);
    expect(total(query, 'redis_messages_received_total')).toBeGreaterThan(0);
    expect(total(query, 'graphql_subscription_results_total')).toBeGreaterThan(0);

    const command = await scrape('command-service');
    expect(total(command, 'graphql_operations_total', 'outcome="ok"')).toBeGreaterThan(0);
    expect(total(command, 'kafka_records_appended_total')).toBeGreaterThanOrEqual(4);
    expect(total(command, 'kafka_transaction_duration_seconds_count')).toBeGreaterThan(0);
    expect(total(command, 'command_partitions_owned')).toBeGreaterThan(0);
    expect(command).toContain('kafka_transaction_aborts_total 0');

    const projector = await scrape('projector');
    expect(total(projector, 'projector_events_total')).toBeGreaterThanOrEqual(4);
    expect(total(projector, 'projector_batch_records_count')).toBeGreaterThan(0);
    expect(total(projector, 'projector_last_checkpoint_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(total(projector, 'redis_publishes_total')).toBeGreaterThan(0);
    expect(projector).toMatch(/projector_consumer_lag\{topic="[^"]+",partition="\d+"\} 0/);
    expect(projector).toContain('projector_dead_letters_total 0');
    for (const text of [query, command, projector]) expect(total(text, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
    await socket.dispose();
  });
});
