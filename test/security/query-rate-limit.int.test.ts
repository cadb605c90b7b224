import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';

// Issue 18, attacks 3 and 4 (the rate part): queries had no rate limit, and 600 whole-history
// searches went through in 40 requests in a tenth of a second. Queries are now limited per user
// by what they cost (the price the cost limit computes; a search is priced at about 2,000), in
// Redis, so every instance shares the count: at the defaults (50,000 per 10 s) a user gets
// about two dozen searches per 10 s, then RATE_LIMITED with when to retry.

let stack: Stack;

beforeAll(async () => {
  // The production defaults: test stacks raise them for the other tests' heavy traffic.
  stack = await startStack('query-rate', { QUERY_LIMIT_PER_USER: '50000', QUERY_LIMIT_PER_ADDRESS: '5000' });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const FIVE_SEARCHES = `{ ${Array.from({ length: 5 }, (_, i) => `s${i}: searchMessages(query: "anything") { edges { node { id } } }`).join(' ')} }`;

async function codes(url: string, query: string, token: string): Promise<{ codes: unknown[]; retryAfterSeconds?: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const result = (await response.json()) as { errors?: { extensions?: Record<string, unknown> }[] };
  return {
    codes: [...new Set((result.errors ?? []).map((e) => e.extensions?.code))],
    retryAfterSeconds: result.errors?.[0]?.extensions?.retryAfterSeconds,
  };
}

describe('the query rate limit', () => {
  it('answers RATE_LIMITED to a burst of searches, across instances, and holds nobody else back', async () => {
    const other = await stack.startExtra('query-service');
    const [searcher, bystander] = [
      (await signUp(stack.commandUrl, 'searcher')).accessToken,
      (await signUp(stack.commandUrl, 'calm')).accessToken,
    ];
    // The attack's pace: forty requests of fifteen searches would not even pass the cost limit, so five per request.
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => codes(i % 2 ? other.url : stack.queryUrl, FIVE_SEARCHES, searcher)),
    );
    const served = answers.filter((a) => a.codes.length === 0).length;
    const limited = answers.filter((a) => a.codes.join() === 'RATE_LIMITED');
    // 50,000 points at about 10,300 a request: four are served, wherever they land, and the rest wait.
    expect(served).toBe(4);
    expect(limited).toHaveLength(36);
    expect(limited[0]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Cheap queries of the same user wait too: the points are spent.
    expect((await codes(other.url, `{ me { id } }`, searcher)).codes).toEqual(['RATE_LIMITED']);
    // Another user's count is their own.
    expect((await codes(stack.queryUrl, FIVE_SEARCHES, bystander)).codes).toEqual([]);
    expect(await gql(other.url, `{ me { username } }`, {}, bystander)).toEqual({ me: { username: 'calm' } });
    await other.stop();
  });
});
