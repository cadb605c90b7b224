import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@chat/platform';
import { signUp } from '../src/accounts.ts';
import { composeStack, waitReady, type ComposeStack } from '../src/docker-stack.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';

// docker-compose.yml as a user runs it, here with the local stand-ins of the official images:
// every component and service in its container, one message sent through the query service's
// endpoint, projected into history, delivered live, an image uploaded to the object store with a
// presigned URL (on the store's published port) and served back to its room through the
// endpoint, and Prometheus scraping all three services.

const SERVICES = [
  'postgres',
  'redis',
  'kafka',
  'registry',
  'objectstore',
  'init',
  'command-service',
  'projector',
  'query-service',
  'prometheus',
];
const PORTS = ['KAFKA_HOST_PORT', 'POSTGRES_HOST_PORT', 'REDIS_HOST_PORT', 'REGISTRY_HOST_PORT', 'COMMAND_HOST_PORT'];
const MORE_PORTS = ['QUERY_HOST_PORT', 'PROJECTOR_HOST_PORT', 'PROMETHEUS_HOST_PORT', 'S3_HOST_PORT'];

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

  it('takes an image through the object store and serves its thumbnail', async () => {
    const endpoint = `${url('QUERY_HOST_PORT')}/graphql`;
    const bob = await signUp(endpoint, 'bob');
    const { createRoom } = await gql(
      endpoint,
      `mutation { createRoom(name: "pictures") { ... on RoomAccepted { roomId } } }`,
      {},
      bob.accessToken,
    );
    const image = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#36a' } })
      .png()
      .toBuffer();
    const { requestUpload: ticket } = await gql(
      endpoint,
      `mutation($n: Int!) { requestUpload(name: "a.png", size: $n, contentType: "image/png") { ... on UploadTicket { uploadId url } } }`,
      { n: image.length },
      bob.accessToken,
    );
    // Presigned for the store's published address (S3_PUBLIC_ENDPOINT), as a browser would use it.
    expect(new URL(ticket.url).port).toBe(String(stack.ports.S3_HOST_PORT));
    const put = await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(image), headers: { 'content-type': 'image/png' } });
    expect(put.status).toBe(200);
    const sent = await gql(
      endpoint,
      `mutation($r: ID!, $f: [ID!]) { sendMessage(roomId: $r, body: "", clientMessageId: "p1", attachments: $f) { __typename } }`,
      { r: createRoom.roomId, f: [ticket.uploadId] },
      bob.accessToken,
    );
    expect(sent.sendMessage.__typename).toBe('MessageAccepted');
    const history = await gql(
      endpoint,
      `query($id: ID!) { messages(roomId: $id, last: 1) { edges { node { attachments { width thumbnailUrl } } } } }`,
      { id: createRoom.roomId },
      bob.accessToken,
    );
    const [attachment] = history.messages.edges[0].node.attachments;
    expect(attachment.width).toBe(640);
    const thumbnail = await fetch(`${url('QUERY_HOST_PORT')}${attachment.thumbnailUrl}`, {
      headers: { authorization: `Bearer ${bob.accessToken}` },
    });
    expect(thumbnail.status).toBe(200);
    expect((await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata()).width).toBe(320);
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
