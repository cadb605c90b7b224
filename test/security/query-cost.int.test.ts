import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';

// Issue 18, attack 3: the cost limit priced a page by a literal first/last only. The same
// nested document (messages → node.room.messages → node.room.messages) with `last: $n` (200),
// or with no page argument (the resolvers' default of 50), was accepted: about 8 million message
// rows and 40,000 SQL statements in one request. Now the cost is computed with the request's
// variables and the default page sizes, and each execution runs within a budget of statements
// and rows, so even a document the price gets wrong stops early with BUDGET_EXCEEDED.

let stack: Stack;
let token: string;
let roomId: string;

const NESTED_WITH_VARIABLE = `query($roomId: ID!, $n: Int) {
  messages(roomId: $roomId, last: $n) { edges { node { id room { messages(last: $n) { edges { node { id room {
    messages(last: $n) { edges { node { id body } } } } } } } } } } } }`;
const NESTED_WITHOUT_PAGES = `query($roomId: ID!) {
  messages(roomId: $roomId) { edges { node { id room { messages { edges { node { id room {
    messages { edges { node { id body } } } } } } } } } } } }`;

/** The codes of a POST's errors, and its data. */
async function ask(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
  return { data: result.data, codes: [...new Set((result.errors ?? []).map((e) => e.extensions?.code))], errors: result.errors ?? [] };
}

beforeAll(async () => {
  stack = await startStack('cost');
  token = (await signUp(stack.commandUrl, 'pricer')).accessToken;
  roomId = (await gql(stack.commandUrl, `mutation { createRoom(name: "priced") { ... on RoomAccepted { roomId } } }`, {}, token)).createRoom
    .roomId as string;
  for (let i = 0; i < 12; i++) {
    await gql(
      stack.commandUrl,
      `mutation($roomId: ID!, $key: ID!) { sendMessage(roomId: $roomId, body: "row", clientMessageId: $key) { __typename } }`,
      { roomId, key: `m${i}` },
      token,
    );
  }
  // The projection is asynchronous: wait until the read model holds the dozen.
  for (let deadline = Date.now() + 30_000; ;) {
    const read = await ask(stack.queryUrl, `query($r: ID!) { messages(roomId: $r) { edges { node { id } } } }`, { r: roomId });
    if (read.data?.messages.edges.length === 12) break;
    if (Date.now() > deadline) throw new Error('the messages were not projected');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('the cost of a request', () => {
  it('counts a page size given as a variable, and the default page size when none is given', async () => {
    const withVariable = await ask(stack.queryUrl, NESTED_WITH_VARIABLE, { roomId, n: 200 });
    expect(withVariable.codes).toEqual(['QUERY_TOO_COMPLEX']);
    expect(withVariable.data).toBeUndefined(); // nothing of it ran
    const withoutPages = await ask(stack.queryUrl, NESTED_WITHOUT_PAGES, { roomId });
    expect(withoutPages.codes).toEqual(['QUERY_TOO_COMPLEX']);
    expect(withoutPages.errors[0]!.message).toMatch(/would cost \d+, over the limit of 20000/);
    // The same shape with small pages is an ordinary request, and so is a full page of history.
    const small = await ask(stack.queryUrl, NESTED_WITH_VARIABLE, { roomId, n: 3 });
    expect(small.codes).toEqual([]);
    expect(small.data.messages.edges).toHaveLength(3);
    const fullPage = await ask(
      stack.queryUrl,
      `query($roomId: ID!, $n: Int) { messages(roomId: $roomId, last: $n) { edges { node { id body sender { username } replyTo { id } reactions { emoji count me } } } } }`,
      { roomId, n: 200 },
    );
    expect(fullPage.codes).toEqual([]);
  });

  it('prices every alias: fifteen whole-history searches in one request are refused', async () => {
    const searches = Array.from({ length: 15 }, (_, i) => `s${i}: searchMessages(query: "row") { edges { node { id } } }`).join(' ');
    expect((await ask(stack.queryUrl, `{ ${searches} }`, {})).codes).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('stops an execution that needs more statements or rows than its budget, whatever the price said', async () => {
    // Budgets small enough for this room's dozen messages to exceed them.
    const [fewStatements, fewRows] = await Promise.all([
      stack.startExtra('query-service', { QUERY_BUDGET_STATEMENTS: '4' }),
      stack.startExtra('query-service', { QUERY_BUDGET_ROWS: '10' }),
    ]);
    try {
      // Each nested page is its own membership check and read: 1 + 3 + 3 × 3 pages here.
      const nested = await ask(fewStatements.url, NESTED_WITH_VARIABLE, { roomId, n: 3 });
      expect(nested.codes).toEqual(['BUDGET_EXCEEDED']);
      expect(nested.errors[0]!.message).toMatch(/needs more than 4 statements or \d+ rows/);
      // A page of twelve rows spends the ten; the senders are then not read.
      const page = await ask(
        fewRows.url,
        `query($roomId: ID!) { messages(roomId: $roomId) { edges { node { id sender { username } } } } }`,
        {
          roomId,
        },
      );
      expect(page.codes).toEqual(['BUDGET_EXCEEDED']);
      expect(page.data?.messages.edges ?? []).toHaveLength(12); // what was read is answered
      // Each request has its own budget: a small one passes on the same instance.
      expect((await ask(fewRows.url, `{ me { username } }`, {})).data).toEqual({ me: { username: 'pricer' } });
      // And the stack's own budget is ample for both.
      expect((await ask(stack.queryUrl, NESTED_WITH_VARIABLE, { roomId, n: 3 })).codes).toEqual([]);
    } finally {
      await Promise.all([fewStatements.stop(), fewRows.stop()]);
    }
  });
});
