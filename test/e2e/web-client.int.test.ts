import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Stack } from '@chat/infra';
import { TEST_PASSWORD } from '../src/accounts.ts';
import { axeViolations, screenshotDir } from '../src/browser.ts';
import { gql } from '../src/graphql.ts';
import {
  PHONE,
  accessTokenOf,
  bodies,
  heading,
  message,
  offlineBanner,
  openRoom,
  send,
  serverHistory,
  sessionOf,
  signUpOnPage,
  twoPeople,
  type Person,
} from '../src/web-page.ts';

// The web client as people use it: two people, each in their own browser context reaching the
// platform through their own network link, sign up, talk in a direct message and in rooms, and
// see each other's changes live; then one loses the network while both write, and comes back.

const suffix = randomBytes(3).toString('hex');
const roomName = `General ${suffix}`;
const privateRoom = `Secret ${suffix}`;
const historyRoom = `History ${suffix}`;

const scene = twoPeople('web-client', {}, suffix);
let stack: Stack;
let browser: Browser;
let alice: Person;
let bob: Person;
beforeAll(() => void ({ stack, browser, alice, bob } = scene));

async function expectNoViolations(p: Person) {
  const violations = await axeViolations(p.page);
  expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
}

describe('web client in Chromium', () => {
  it('signs two people up through the page, with no accessibility violations', async () => {
    await alice.page.goto('/');
    expect(await alice.page.getByRole('heading', { name: 'Log in' }).count()).toBe(1);
    await expectNoViolations(alice);
    await alice.page.screenshot({ path: join(screenshotDir(), 'sign-in-desktop.png') });
    await signUpOnPage(alice);
    await signUpOnPage(bob);
  });

  it('opens a direct message and exchanges messages and a reply, live both ways', async () => {
    const { page } = alice;
    await page.getByRole('link', { name: 'New direct message' }).click();
    await page.getByLabel('Find a person').fill(bob.username);
    await page.getByRole('button', { name: 'Message Bob' }).click();
    await expect.poll(() => heading(page, 'Bob').count(), { timeout: 15_000 }).toBe(1);
    await send(page, 'Hi Bob, how are you?');
    await expect.poll(() => message(page, 'Hi Bob, how are you?').count(), { timeout: 15_000 }).toBe(1);

    // Bob's list gains the room with one unread message, without a reload.
    const bobLink = bob.page.getByRole('navigation').getByRole('link', { name: /^Alice 1 unread/ });
    await expect.poll(() => bobLink.count(), { timeout: 15_000 }).toBe(1);
    await bobLink.click();
    await expect.poll(() => message(bob.page, 'Hi Bob, how are you?').count(), { timeout: 15_000 }).toBe(1);
    // Read now: the badge goes.
    await expect
      .poll(
        () =>
          bob.page
            .getByRole('navigation')
            .getByRole('link', { name: /^Alice 1 unread/ })
            .count(),
        { timeout: 15_000 },
      )
      .toBe(0);
    // Alice has a socket open, so she shows as online; and Bob sees her typing as she types.
    await expect.poll(() => bob.page.getByTestId('presence').innerText(), { timeout: 15_000 }).toContain('online');
    await alice.page.getByRole('textbox', { name: 'Message' }).pressSequentially('Still the', { delay: 20 });
    await expect.poll(() => bob.page.getByText('Alice is typing…').count(), { timeout: 15_000 }).toBe(1);
    await alice.page.getByRole('textbox', { name: 'Message' }).fill('');
    await message(bob.page, 'Hi Bob, how are you?').getByRole('button', { name: 'Reply' }).click();
    expect(await bob.page.getByTestId('replying').count()).toBe(1);
    // Shift+Enter starts a new line; the emoji button puts one where the cursor is; Enter sends.
    const box = bob.page.getByRole('textbox', { name: 'Message' });
    await box.fill('Fine, thanks!');
    await box.press('Shift+Enter');
    await box.pressSequentially('And you');
    await bob.page.getByRole('button', { name: 'Insert emoji' }).click();
    await bob.page.getByRole('dialog', { name: 'Insert emoji' }).getByRole('button', { name: '😊' }).click();
    await box.press('Enter');
    const both = message(alice.page, 'Fine, thanks!\nAnd you😊');
    await expect.poll(() => both.count(), { timeout: 15_000 }).toBe(1);
    expect(await both.getByTestId('reply-quote').innerText()).toContain('Hi Bob, how are you?');
  });

  it('creates a room that the other person finds, joins and talks in', async () => {
    const { page } = alice;
    await page.getByRole('link', { name: 'New room' }).click();
    await page.getByLabel('Name').fill(roomName);
    await page.getByLabel('Topic').fill('Everything and nothing');
    await page.getByRole('button', { name: 'Create room' }).click();
    await expect.poll(() => heading(page, roomName).count(), { timeout: 15_000 }).toBe(1);
    await send(page, 'Welcome to the room');

    await bob.page.getByRole('link', { name: 'Browse rooms' }).click();
    await bob.page.getByLabel('Search by name').fill(suffix);
    await bob.page.getByRole('button', { name: `Join ${roomName}` }).click();
    await expect.poll(() => heading(bob.page, roomName).count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => message(bob.page, 'Welcome to the room').count(), { timeout: 15_000 }).toBe(1);
    await send(bob.page, 'Glad to be here');
    await expect.poll(() => message(page, 'Glad to be here').count(), { timeout: 15_000 }).toBe(1);
  });

  it('shows reactions, edits and deletions to the other person live', async () => {
    const welcome = message(bob.page, 'Welcome to the room');
    await welcome.getByRole('button', { name: 'React' }).click();
    await bob.page.getByRole('dialog', { name: 'React with' }).getByRole('button', { name: '👍' }).click();
    await expect
      .poll(() => message(alice.page, 'Welcome to the room').getByRole('button', { name: '👍 1' }).count(), { timeout: 15_000 })
      .toBe(1);

    await message(alice.page, 'Welcome to the room').getByRole('button', { name: 'Edit' }).click();
    const editor = alice.page.getByRole('textbox', { name: 'Edit message' });
    await editor.fill('Welcome, everyone');
    await editor.press('Enter');
    await expect.poll(() => message(bob.page, 'Welcome, everyone').count(), { timeout: 15_000 }).toBe(1);
    expect(await message(bob.page, 'Welcome, everyone').innerText()).toContain('(edited)');
    // The reaction stays on the edited message, and is Bob's own.
    expect(await message(bob.page, 'Welcome, everyone').getByRole('button', { name: '👍 1, yours' }).count()).toBe(1);

    await send(alice.page, 'This one will go');
    await expect.poll(() => message(bob.page, 'This one will go').count(), { timeout: 15_000 }).toBe(1);
    await message(alice.page, 'This one will go').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => bob.page.getByText('This message was deleted.').count(), { timeout: 15_000 }).toBe(1);
    expect(await message(bob.page, 'This one will go').count()).toBe(0);

    await expectNoViolations(bob);
    await bob.page.screenshot({ path: join(screenshotDir(), 'room-desktop.png') });
  });

  it('finds messages by their words', async () => {
    await bob.page.getByRole('link', { name: 'Search' }).click();
    await bob.page.getByLabel('Words or "a phrase"').fill('everyone');
    await expect.poll(() => bob.page.getByRole('link', { name: /Welcome, everyone/ }).count(), { timeout: 15_000 }).toBe(1);
    await bob.page.getByRole('link', { name: /Welcome, everyone/ }).click();
    await expect.poll(() => heading(bob.page, roomName).count(), { timeout: 15_000 }).toBe(1);
  });

  it('replies with the keyboard alone', async () => {
    // Tab from a message reaches its actions; Reply puts the cursor in the message box.
    await message(alice.page, 'Glad to be here').focus();
    await alice.page.keyboard.press('Tab');
    await alice.page.keyboard.press('Enter');
    expect(await alice.page.getByTestId('replying').innerText()).toContain('Glad to be here');
    await alice.page.keyboard.type('Typed without a mouse');
    await alice.page.keyboard.press('Enter');
    const reply = message(bob.page, 'Typed without a mouse');
    await expect.poll(() => reply.count(), { timeout: 15_000 }).toBe(1);
    expect(await reply.getByTestId('reply-quote').innerText()).toContain('Glad to be here');
  });

  it('opens a long room on its newest messages and loads older ones as the reader scrolls back', async () => {
    const aliceToken = await accessTokenOf(alice);
    const { createRoom } = await gql(
      stack.queryUrl,
      `mutation($name: String!) { createRoom(name: $name) { ... on RoomAccepted { roomId } } }`,
      { name: historyRoom },
      aliceToken,
    );
    const backlog = Array.from({ length: 120 }, (_, i) => `Backlog ${i + 1}`);
    for (const body of backlog) {
      await gql(
        stack.queryUrl,
        `mutation($r: ID!, $b: String!, $k: ID!) { sendMessage(roomId: $r, body: $b, clientMessageId: $k) { __typename } }`,
        { r: createRoom.roomId, b: body, k: body },
        aliceToken,
      );
    }
    await gql(
      stack.queryUrl,
      `mutation($r: ID!) { joinRoom(roomId: $r) { __typename } }`,
      { r: createRoom.roomId },
      await accessTokenOf(bob),
    );
    await bob.page.reload();
    await openRoom(bob.page, historyRoom);
    await expect.poll(() => message(bob.page, 'Backlog 120').count(), { timeout: 15_000 }).toBe(1);
    expect(await bob.page.getByTestId('message').count()).toBeLessThan(backlog.length);
    // Scrolled to the top again and again, as a reader would, until the room's start shows.
    for (let i = 0; i < 10 && (await bob.page.getByText('This is the start of the room.').count()) === 0; i += 1) {
      await bob.page.getByRole('log', { name: 'Messages' }).evaluate((element) => (element.scrollTop = 0));
      await bob.page.waitForTimeout(300);
    }
    expect(await bodies(bob.page)).toEqual(backlog);
    // Leaving takes the room out of the list.
    await bob.page.getByRole('button', { name: 'Leave' }).click();
    await expect
      .poll(
        () =>
          bob.page
            .getByRole('navigation')
            .getByRole('link', { name: new RegExp(`^${historyRoom}`) })
            .count(),
        { timeout: 15_000 },
      )
      .toBe(0);
    await openRoom(bob.page, roomName);
    await bob.page.getByRole('button', { name: 'Members (2)' }).waitFor({ timeout: 15_000 });
  });

  it('loses the network while both write, comes back, and both see every message once', async () => {
    bob.link.cut();
    await bob.context.setOffline(true);
    await expect.poll(() => offlineBanner(bob.page).count(), { timeout: 30_000 }).toBe(1);

    const fromAlice = ['While you were away 1', 'While you were away 2', 'While you were away 3'];
    for (const body of fromAlice) await send(alice.page, body);
    await send(bob.page, 'Written offline');
    await send(bob.page, 'Also written offline');
    await expect.poll(() => bob.page.getByTestId('pending-message').count()).toBe(2);
    await bob.page.screenshot({ path: join(screenshotDir(), 'offline-desktop.png') });
    for (const body of fromAlice) await expect.poll(() => message(alice.page, body).count(), { timeout: 15_000 }).toBe(1);

    await bob.context.setOffline(false);
    bob.link.restore();
    const expected = [...fromAlice, 'Written offline', 'Also written offline'];
    for (const p of [alice, bob]) {
      for (const body of expected)
        await expect.poll(() => message(p.page, body).count(), { timeout: 30_000, message: `${p.name} sees "${body}" once` }).toBe(1);
    }
    await expect.poll(() => bob.page.getByTestId('pending-message').count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => offlineBanner(bob.page).count()).toBe(0);
    // Each page shows each body once, in one order, and the server holds each once.
    const seenByAlice = await bodies(alice.page);
    expect(await bodies(bob.page)).toEqual(seenByAlice);
    for (const body of expected) expect(seenByAlice.filter((b) => b === body)).toHaveLength(1);
    const history = await serverHistory(stack.queryUrl, alice, roomName);
    for (const body of expected) expect(history.filter((b) => b === body)).toHaveLength(1);
  });

  it('shares the queue between two tabs of one person, and the message is sent once', async () => {
    const second = await bob.context.newPage();
    await second.goto(bob.page.url());
    await heading(second, roomName).waitFor({ timeout: 15_000 });
    bob.link.cut();
    await bob.context.setOffline(true);
    await expect.poll(() => offlineBanner(bob.page).count(), { timeout: 30_000 }).toBe(1);
    await send(bob.page, 'Queued in one tab');
    // The other tab shows it waiting too: one queue per person, in the browser's storage.
    await expect
      .poll(() => second.getByTestId('pending-message').filter({ hasText: 'Queued in one tab' }).count(), { timeout: 15_000 })
      .toBe(1);
    await bob.context.setOffline(false);
    bob.link.restore();
    // Both tabs try to send it when the link is back; its idempotency key makes that one message.
    for (const [who, page] of [
      ['Bob', bob.page],
      ["Bob's second tab", second],
      ['Alice', alice.page],
    ] as const)
      await expect.poll(() => message(page, 'Queued in one tab').count(), { timeout: 30_000, message: `${who} sees it once` }).toBe(1);
    expect((await serverHistory(stack.queryUrl, alice, roomName)).filter((b) => b === 'Queued in one tab')).toHaveLength(1);
    await second.close();
  });

  it('invites to a private room, makes an admin, and removes a member, each seen by the other', async () => {
    const { page } = alice;
    await page.getByRole('link', { name: 'New room' }).click();
    await page.getByLabel('Name').fill(privateRoom);
    await page.getByLabel('Invited people only (private)').check();
    await page.getByRole('button', { name: 'Create room' }).click();
    await expect.poll(() => heading(page, privateRoom).count(), { timeout: 15_000 }).toBe(1);
    await page.getByRole('button', { name: /^Members/ }).click();
    await page.getByLabel('Invite someone').fill(bob.username);
    await page.getByRole('button', { name: 'Invite Bob' }).click();

    // Bob is shown the invitation live, and joins from it.
    const invitations = bob.page.getByRole('region', { name: 'Invitations' });
    await expect.poll(() => invitations.getByText(privateRoom).count(), { timeout: 15_000 }).toBe(1);
    await invitations.getByRole('button', { name: 'Join' }).click();
    await expect.poll(() => heading(bob.page, privateRoom).count(), { timeout: 15_000 }).toBe(1);

    await expect.poll(() => page.getByTestId('member').filter({ hasText: 'Bob' }).count(), { timeout: 15_000 }).toBe(1);
    await page.getByLabel('Role of Bob').selectOption('ADMIN');
    await bob.page.getByRole('button', { name: /^Members/ }).click();
    await expect
      .poll(() => bob.page.getByTestId('member').filter({ hasText: 'Bob' }).filter({ hasText: 'admin' }).count(), { timeout: 15_000 })
      .toBe(1);
    // Bob, an admin now, is offered what admins may do without a reload (inviting), and not what
    // they may not (removing the owner).
    await expect.poll(() => bob.page.getByLabel('Invite someone').count(), { timeout: 15_000 }).toBe(1);
    expect(await bob.page.getByRole('button', { name: 'Remove Alice' }).count()).toBe(0);
    await alice.page.screenshot({ path: join(screenshotDir(), 'members-desktop.png') });

    await page.getByRole('button', { name: 'Remove Bob' }).click();
    // Removed: Bob's view of the room closes and the room leaves his list.
    await expect.poll(() => heading(bob.page, privateRoom).count(), { timeout: 15_000 }).toBe(0);
    await expect
      .poll(
        () =>
          bob.page
            .getByRole('navigation')
            .getByRole('link', { name: new RegExp(`^${privateRoom}`) })
            .count(),
        { timeout: 15_000 },
      )
      .toBe(0);
  });

  it('edits the profile, and logs out', async () => {
    const { page } = alice;
    await page.getByRole('link', { name: 'Profile' }).click();
    await page.getByLabel('Display name').fill('Alice Liddell');
    await page.getByLabel('Bio').fill('Curiouser and curiouser');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved.' }).count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => page.locator('.me-name').innerText(), { timeout: 15_000 }).toBe('Alice Liddell');
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Log in' }).count(), { timeout: 15_000 }).toBe(1);
    expect(await sessionOf(alice)).toBeNull();
  });

  it('works at phone width, with no accessibility violations, and writes its screenshots', async () => {
    const phone = await browser.newContext({
      viewport: PHONE,
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      baseURL: `http://127.0.0.1:${bob.link.port}`,
    });
    const page = await phone.newPage();
    await page.goto('/');
    await page.getByLabel('Username').fill(bob.username);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect
      .poll(
        () =>
          page
            .getByRole('navigation')
            .getByRole('link', { name: new RegExp(`^${roomName}`) })
            .count(),
        { timeout: 15_000 },
      )
      .toBe(1);
    await page.screenshot({ path: join(screenshotDir(), 'rooms-phone.png') });
    await openRoom(page, roomName);
    await expect.poll(() => message(page, 'Also written offline').count(), { timeout: 15_000 }).toBe(1);
    await expectNoViolations({ ...bob, page });
    await page.screenshot({ path: join(screenshotDir(), 'room-phone.png') });
    // Back to the list: one pane at a time on a phone.
    await page.getByRole('button', { name: 'Back to rooms' }).click();
    await expect.poll(() => page.getByRole('navigation').isVisible()).toBe(true);
    await phone.close();
  });

  it('reported no script errors in either page', () => {
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  });
});
