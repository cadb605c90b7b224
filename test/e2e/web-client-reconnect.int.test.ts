import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '@chat/infra';
import { gql } from '../src/graphql.ts';
import {
  accessTokenOf,
  bodies,
  heading,
  message,
  offlineBanner,
  send,
  serverHistory,
  signUpOnPage,
  twoPeople,
  type Person,
} from '../src/web-page.ts';

// The web client across what breaks a live connection in real life, each time showing exactly
// the messages it missed, once: access tokens that expire every few seconds (the server closes
// a socket whose token expired), a restart of the query service, and a network that stalls
// silently (a sleeping laptop) until the client's own keep-alive gives up on it.

const TOKEN_SECONDS = 8;
const suffix = randomBytes(3).toString('hex');
const roomName = `Lobby ${suffix}`;

const scene = twoPeople('web-reconnect', { ACCESS_TOKEN_TTL_SECONDS: String(TOKEN_SECONDS) }, suffix);
let stack: Stack;
let alice: Person;
let bob: Person;

// Both in one room, to talk in through everything that follows.
beforeAll(async () => {
  ({ stack, alice, bob } = scene);
  await signUpOnPage(alice);
  await signUpOnPage(bob);
  await alice.page.getByRole('link', { name: 'New room' }).click();
  await alice.page.getByLabel('Name').fill(roomName);
  await alice.page.getByRole('button', { name: 'Create room' }).click();
  await heading(alice.page, roomName).waitFor({ timeout: 15_000 });
  await bob.page.getByRole('link', { name: 'Browse rooms' }).click();
  await bob.page.getByLabel('Search by name').fill(suffix);
  await bob.page.getByRole('button', { name: `Join ${roomName}` }).click();
  await heading(bob.page, roomName).waitFor({ timeout: 15_000 });
}, 60_000);

async function expectEachOnce(expected: string[]) {
  for (const p of [alice, bob]) {
    for (const body of expected)
      await expect.poll(() => message(p.page, body).count(), { timeout: 30_000, message: `${p.name} sees "${body}" once` }).toBe(1);
  }
  const seenByAlice = await bodies(alice.page);
  expect(await bodies(bob.page)).toEqual(seenByAlice);
  for (const body of expected) expect(seenByAlice.filter((b) => b === body)).toHaveLength(1);
  const history = await serverHistory(stack.queryUrl, alice, roomName);
  for (const body of expected) expect(history.filter((b) => b === body)).toHaveLength(1);
}

describe('web client reconnecting', () => {
  it(`stays signed in and misses nothing while its ${TOKEN_SECONDS} s access tokens expire`, async () => {
    const first = await accessTokenOf(bob);
    const sent: string[] = [];
    // Three token lifetimes, a message every two seconds from each side in turn.
    for (let i = 1; i <= 12; i += 1) {
      const body = `Tick ${i}`;
      await send(i % 2 ? alice.page : bob.page, body);
      sent.push(body);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    await expectEachOnce(sent);
    expect(await accessTokenOf(bob)).not.toBe(first);
    for (const p of [alice, bob]) expect(await p.page.getByRole('heading', { name: 'Log in' }).count()).toBe(0);
  }, 90_000);

  it('shows what was sent while the query service restarted, once', async () => {
    await stack.stopService('query-service');
    for (const p of [alice, bob]) await expect.poll(() => offlineBanner(p.page).count(), { timeout: 30_000 }).toBe(1);
    await expect(fetch(stack.queryUrl)).rejects.toThrow(); // it really is down
    // Another way in (as through a second instance): straight to the command service.
    const token = await accessTokenOf(alice);
    const roomId = await bob.page.evaluate(() => decodeURIComponent(location.hash.split('/')[2] ?? ''));
    const during = ['Sent during the restart 1', 'Sent during the restart 2'];
    for (const body of during) {
      const { sendMessage } = await gql(
        stack.commandUrl,
        `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) { __typename } }`,
        { roomId, body, key: randomBytes(8).toString('hex') },
        token,
      );
      expect(sendMessage.__typename).toBe('MessageAccepted');
    }
    await send(bob.page, 'Queued during the restart');
    await stack.startService('query-service');
    await expectEachOnce([...during, 'Queued during the restart']);
    for (const p of [alice, bob]) await expect.poll(() => offlineBanner(p.page).count(), { timeout: 15_000 }).toBe(0);
  }, 90_000);

  it('notices a network that went silent, and catches up when it is back', async () => {
    bob.link.stall();
    const during = ['While Bob slept 1', 'While Bob slept 2'];
    for (const body of during) await send(alice.page, body);
    // Nothing closed the socket: only the client's ping, unanswered, tells it the link is dead.
    await expect.poll(() => offlineBanner(bob.page).count(), { timeout: 30_000 }).toBe(1);
    for (const body of during) expect(await message(bob.page, body).count()).toBe(0);
    bob.link.restore();
    await expectEachOnce(during);
    await expect.poll(() => offlineBanner(bob.page).count(), { timeout: 15_000 }).toBe(0);
  }, 90_000);

  it('reported no script errors in either page', () => {
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  });
});
