import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Instance, type Stack } from '@chat/infra';
import { waitFor } from '@chat/platform';
import { TestUsers } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';

// The projector's readiness says whether the read models have caught up with the log, over
// every partition, whichever instance owns it. A second projector takes half the partitions and
// is frozen (SIGSTOP: its session lives on until it times out, so its partitions stay its own);
// messages then pile up on them, and the first projector reports `caught-up: down` with the
// backlog in projector_records_behind. Once the frozen one is dropped from the group, the first
// takes its partitions over, projects the backlog, and is ready again.

const MAX_BEHIND = 5;
let stack: Stack;
let frozen: Instance;

beforeAll(async () => {
  stack = await startStack('caught-up', { PROJECTOR_READY_MAX_BEHIND: String(MAX_BEHIND), PROJECTOR_SESSION_TIMEOUT_MS: '20000' });
  frozen = await stack.startExtra('projector');
}, 180_000);

afterAll(async () => {
  frozen?.signal('SIGCONT');
  await stack?.stop();
});

async function readiness(): Promise<{ status: number; checks: Record<string, string>; behind: number }> {
  const base = stack.instance('projector').baseUrl;
  const response = await fetch(`${base}/readyz`);
  const { checks } = (await response.json()) as { checks: Record<string, string> };
  const metrics = await (await fetch(`${stack.instance('projector').internalUrl}/metrics`)).text();
  const behind = Number(/^projector_records_behind (\S+)$/m.exec(metrics)?.[1] ?? NaN);
  return { status: response.status, checks, behind };
}

describe('projector readiness', () => {
  it('is down while the read models trail the log, and up once they have caught up', { timeout: 180_000 }, async () => {
    expect((await readiness()).checks['caught-up']).toBe('ok');
    const users = new TestUsers(stack.queryUrl);
    const alice = await users.get('alice');
    const rooms: string[] = [];
    for (let i = 0; i < 12; i++) {
      const { createRoom } = await gql(
        stack.queryUrl,
        `mutation($n: String!) { createRoom(name: $n) { ... on RoomAccepted { roomId } } }`,
        { n: `caught-up ${i}` },
        alice.accessToken,
      );
      rooms.push(createRoom.roomId);
    }
    // Wait until both instances project (a rebalance gave the second its share), then freeze it.
    await waitFor('both projectors ready', async () => ((await fetch(`${frozen.baseUrl}/readyz`)).ok ? true : undefined));
    frozen.signal('SIGSTOP');
    const send = `mutation($r: ID!, $k: ID!) { sendMessage(roomId: $r, body: "pile", clientMessageId: $k) { __typename } }`;
    // All at once: an answer waits (a bounded while) for its message to be visible in the read model.
    const sent = rooms.flatMap((roomId, i) =>
      [0, 1, 2, 3, 4].map((k) => gql(stack.queryUrl, send, { r: roomId, k: `m${i}-${k}` }, alice.accessToken)),
    );
    const trailing = await waitFor('readiness to see the backlog', async () => {
      const now = await readiness();
      return now.checks['caught-up'] === 'down' ? now : undefined;
    });
    expect(trailing.status).toBe(503);
    expect(trailing.behind).toBeGreaterThan(MAX_BEHIND);

    const caughtUp = await waitFor(
      'the first projector to take the frozen one’s partitions over and catch up',
      async () => {
        const now = await readiness();
        return now.status === 200 ? now : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(caughtUp.checks['caught-up']).toBe('ok');
    expect(caughtUp.behind).toBeLessThanOrEqual(MAX_BEHIND);
    expect((await Promise.all(sent)).every((answer) => answer.sendMessage.__typename === 'MessageAccepted')).toBe(true);
  });
});
