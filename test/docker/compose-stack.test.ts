import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@chat/platform';
import { signUp } from '../src/accounts.ts';
import { composeStack, waitReady, type ComposeStack } from '../src/docker-stack.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';

// docker-compose.yml as a user runs it, here with the local stand-ins of the official images:
// every component and service in its container, one message sent through the query service's
// endpoint, projected into history, delivered live, and Prometheus scraping all three services.

const SERVICES = ['postgres', 'redis', 'kafka', 'registry', 'init', 'command-service', 'projector', 'query-service', 'prometheus'];
const PORTS = ['KAFKA_HOST_PORT', 'POSTGRES_HOST_PORT', 'REDIS_HOST_PORT', 'REGISTRY_HOST_PORT', 'COMMAND_HOST_PORT'];
const MORE_PORTS = ['QUERY_HOST_PORT', 'PROJECTOR_HOST_PORT', 'PROMETHEUS_HOST_PORT'];

let stack: ComposeStack;
const url = (variable: string) => `http://127.0.0.1:${stack.ports[variable]}`;

beforeAll(async () => {
  stack = await composeStack('docker-compose.yml', 'chat-compose-test', [...PORTS, ...MORE_PORTS]);
  try {
    await stack.up(SERVICES);
    await waitReady([url('COMMAND_HOST_PORT'), url('PROJECTOR_HOST_PORT'), url('QUERY_HOST_PORT')]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${stack.logs()}`, { cause: error });
  }
}, 900_000);

afterAll(() => stack?.down());

describe('docker compose up', () => {
  it('sends, projects and delivers a message', async () => {
    const endpoint = `${url('QUERY_HOST_PORT')}/graphql`;
    const alice = await signUp(endpoint, 'alice');
    const { createRoom } = await gql(
      endpoint,
      `mutation { createRoom(name: "in docker") { ... on RoomAccepted { roomId } } }`,
      {},
      alice.accessToken,
    );
    const roomId: string = createRoom.roomId;
    const socket = wsClient(endpoint.replace('http', 'ws'), alice.accessToken);
    const live = collect<any>(socket, `subscription($r: ID!) { messageAdded(roomId: $r) { body } }`, { r: roomId }, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = await gql(
      endpoint,
      `mutation($r: ID!) { sendMessage(roomId: $r, body: "hello from compose", clientMessageId: "c1") { __typename } }`,
      { r: roomId },
      alice.accessToken,
    );
    expect(sent.sendMessage.__typename).toBe('MessageAccepted');
    const [delivered] = await live.done;
    expect(delivered.messageAdded.body).toBe('hello from compose');
    await socket.dispose();

    const history = await gql(
      endpoint,
      `query($id: ID!) { messages(roomId: $id, last: 10) { edges { node { body } } } }`,
      { id: roomId },
      alice.accessToken,
    );
    expect(history.messages.edges.map((e: any) => e.node.body)).toEqual(['hello from compose']);
  });

  it('is scraped by Prometheus', async () => {
    const jobs = await waitFor(
      'Prometheus to scrape all three services',
      async () => {
        const answer = await fetch(`${url('PROMETHEUS_HOST_PORT')}/api/v1/query?query=up`).then((r) => r.json());
        const up = (answer.data?.result ?? []).filter((s: any) => s.value[1] === '1').map((s: any) => s.metric.job);
        return up.length === 3 ? up.sort() : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(jobs).toEqual(['command-service', 'projector', 'query-service']);
  });
});
