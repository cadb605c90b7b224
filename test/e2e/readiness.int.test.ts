import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type ServiceName, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';
import { OwnPostgres } from '../src/own-postgres.ts';

// /healthz and /readyz of every service, against a Postgres of this test's own: readiness
// turns false, naming Postgres, while that server is stopped, and true again once it is back;
// the process stays alive (and says so) throughout, and works on afterwards.

const SERVICES: ServiceName[] = ['command-service', 'projector', 'query-service'];

let postgres: OwnPostgres;
let stack: Stack;
const sharedDatabase = process.env.DATABASE_URL;

beforeAll(async () => {
  postgres = await OwnPostgres.create();
  // The stack and its services use the private server (put back for whatever runs next here).
  process.env.DATABASE_URL = postgres.url;
  stack = await startStack('readiness');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  postgres?.remove();
  if (sharedDatabase === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = sharedDatabase;
});

async function probe(service: ServiceName, path: '/healthz' | '/readyz'): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.instance(service).baseUrl}${path}`);
  return { status: response.status, body: await response.json() };
}

describe('health and readiness', () => {
  it('are both true on every service once it has started, with each dependency checked', async () => {
    for (const service of SERVICES) {
      expect(await probe(service, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
      const ready = await probe(service, '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('ready');
      expect(ready.body.checks.postgres).toBe('ok');
      expect(Object.values(ready.body.checks).every((verdict) => verdict === 'ok')).toBe(true);
    }
    expect(Object.keys((await probe('command-service', '/readyz')).body.checks).sort()).toEqual([
      'event-log',
      'kafka',
      'partitions',
      'postgres',
      'redis',
    ]);
    expect(Object.keys((await probe('projector', '/readyz')).body.checks).sort()).toEqual(['caught-up', 'event-log', 'kafka', 'postgres']);
  });

  it('turn readiness false, naming Postgres, while it is down, and true again after; liveness stays true', async () => {
    postgres.stop();
    for (const service of SERVICES) {
      await expect.poll(async () => (await probe(service, '/readyz')).status, { timeout: 15_000 }).toBe(503);
      const down = await probe(service, '/readyz');
      expect(down.body).toMatchObject({ status: 'not ready', checks: { postgres: 'down' } });
      expect(JSON.stringify(down.body)).not.toMatch(/ECONNREFUSED|connect|127\.0\.0\.1/);
      expect((await probe(service, '/healthz')).status).toBe(200);
    }
    await postgres.start();
    for (const service of SERVICES) await expect.poll(async () => (await probe(service, '/readyz')).status, { timeout: 30_000 }).toBe(200);
    // The outage was waited out, not fatal: the same processes take a message through to history.
    const alice = await signUp(stack.queryUrl, 'alice');
    const { createRoom } = await gql(
      stack.queryUrl,
      `mutation { createRoom(name: "after the outage") { ... on RoomAccepted { roomId } } }`,
      {},
      alice.accessToken,
    );
    const sent = `mutation($r: ID!) { sendMessage(roomId: $r, body: "still here", clientMessageId: "k1") { __typename } }`;
    expect((await gql(stack.queryUrl, sent, { r: createRoom.roomId }, alice.accessToken)).sendMessage.__typename).toBe('MessageAccepted');
    const { messages } = await gql(
      stack.queryUrl,
      `query($r: ID!) { messages(roomId: $r, last: 5) { edges { node { body } } } }`,
      { r: createRoom.roomId },
      alice.accessToken,
    );
    expect(messages.edges.map((e: any) => e.node.body)).toEqual(['still here']);
  }, 90_000);
});
