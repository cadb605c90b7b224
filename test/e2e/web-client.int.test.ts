import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startStack, type Stack } from '@chat/infra';
import { TEST_PASSWORD } from '../src/accounts.ts';
import { CuttableLink, axeViolations, buildWebClient, launchChromium, screenshotDir } from '../src/browser.ts';
import { gql } from '../src/graphql.ts';

// The web client as people use it: two people, each in their own browser context reaching the
// platform through their own network link, sign up, talk in a direct message and a room, and
// see each other's changes live; then one loses the network while both write, and comes back.

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const suffix = randomBytes(3).toString('hex');

interface Person {
  name: string;
  username: string;
  link: CuttableLink;
  context: BrowserContext;
  page: Page;
}

let stack: Stack;
let browser: Browser;
let alice: Person;
let bob: Person;
const roomName = `General ${suffix}`;
const pageErrors: string[] = [];

beforeAll(async () => {
  buildWebClient();
  stack = await startStack('web-client');
  browser = await launchChromium();
  const port = Number(new URL(stack.queryUrl).port);
  alice = await person('Alice', port);
  bob = await person('Bob', port);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await alice?.link.stop();
  await bob?.link.stop();
  await stack?.stop();
});

// A failed step leaves both pages' pictures behind, to see what the person saw.
afterEach(async (context) => {
  if (context.task.result?.state !== 'fail') return;
  const label = context.task.name.replace(/\W+/g, '-').slice(0, 40);
  for (const p of [alice, bob])
    await p?.page.screenshot({ path: join(tmpdir(), `web-client-${label}-${p.name}.png`) }).catch(() => undefined);
});

async function person(name: string, port: number): Promise<Person> {
  const link = new CuttableLink(port);
  const origin = await link.start();
  const context = await browser.newContext({ baseURL: origin, viewport: DESKTOP });
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  // Anything the page itself reports as broken (a script error, a refused request) fails the run.
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  page.on('console', (line) => {
    // Chromium's own lines while the network is cut (failed loads, a ping on a dead socket) are expected.
    const networkGone = /net::ERR_|WebSocket is already in CLOSING or CLOSED state/.test(line.text());
    if (line.type() === 'error' && !networkGone) pageErrors.push(`${name}: ${line.text()}`);
  });
  return { name, username: `${name.toLowerCase()}_${suffix}`, link, context, page };
}

function composer(page: Page) {
  return page.getByRole('textbox', { name: 'Message' });
}

async function send(page: Page, body: string) {
  await composer(page).fill(body);
  await composer(page).press('Enter');
}

function message(page: Page, body: string) {
  return page.getByTestId('message').filter({ has: page.getByTestId('body').getByText(body, { exact: true }) });
}

async function openRoom(page: Page, name: string) {
  await page
    .getByRole('navigation')
    .getByRole('link', { name: new RegExp(`^${name}`) })
    .click();
  await expect.poll(() => page.getByRole('heading', { level: 1, name }).count()).toBe(1);
}

/** Every body shown in the open room, in order (pending ones excluded). */
function bodies(page: Page): Promise<string[]> {
  return page.getByTestId('message').getByTestId('body').allInnerTexts();
}

describe('web client in Chromium', () => {
  it('signs two people up through the page, with no accessibility violations', async () => {
    await alice.page.goto('/');
    expect(await alice.page.getByRole('heading', { name: 'Log in' }).count()).toBe(1);
    const violations = await axeViolations(alice.page);
    expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
    await alice.page.screenshot({ path: join(screenshotDir(), 'sign-in-desktop.png') });
    for (const p of [alice, bob]) {
      if (p === bob) await p.page.goto('/');
      await p.page.getByRole('button', { name: 'New here? Create an account' }).click();
      await p.page.getByLabel('Username').fill(p.username);
      await p.page.getByLabel('Display name').fill(p.name);
      await p.page.getByLabel('Password').fill(TEST_PASSWORD);
      await p.page.getByRole('button', { name: 'Sign up' }).click();
      await expect.poll(() => p.page.getByRole('heading', { name: `Welcome, ${p.name}` }).count(), { timeout: 15_000 }).toBe(1);
    }
  });

  it('opens a direct message and exchanges messages and a reply, live both ways', async () => {
    const { page } = alice;
    await page.getByRole('link', { name: 'New direct message' }).click();
    await page.getByLabel('Find a person').fill(bob.username);
    await page.getByRole('button', { name: 'Message Bob' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Bob' }).count(), { timeout: 15_000 }).toBe(1);
    await send(page, 'Hi Bob, how are you?');
    await expect.poll(() => message(page, 'Hi Bob, how are you?').count(), { timeout: 15_000 }).toBe(1);

    // Bob's list gains the room with one unread message, without a reload.
    const bobLink = bob.page.getByRole('navigation').getByRole('link', { name: /^Alice 1 unread/ });
    await expect.poll(() => bobLink.count(), { timeout: 15_000 }).toBe(1);
    await bobLink.click();
    await expect.poll(() => message(bob.page, 'Hi Bob, how are you?').count(), { timeout: 15_000 }).toBe(1);
    await message(bob.page, 'Hi Bob, how are you?').getByRole('button', { name: 'Reply' }).click();
    expect(await bob.page.getByTestId('replying').count()).toBe(1);
    await send(bob.page, 'Fine, thanks!');
    const reply = message(page, 'Fine, thanks!');
    await expect.poll(() => reply.count(), { timeout: 15_000 }).toBe(1);
    expect(await reply.getByTestId('reply-quote').innerText()).toContain('Hi Bob, how are you?');
  });

  it('creates a room that the other person finds, joins and talks in', async () => {
    const { page } = alice;
    await page.getByRole('link', { name: 'New room' }).click();
    await page.getByLabel('Name').fill(roomName);
    await page.getByLabel('Topic').fill('Everything and nothing');
    await page.getByRole('button', { name: 'Create room' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1, name: roomName }).count(), { timeout: 15_000 }).toBe(1);
    await send(page, 'Welcome to the room');

    await bob.page.getByRole('link', { name: 'Browse rooms' }).click();
    await bob.page.getByLabel('Search by name').fill(suffix);
    await bob.page.getByRole('button', { name: `Join ${roomName}` }).click();
    await expect.poll(() => bob.page.getByRole('heading', { level: 1, name: roomName }).count(), { timeout: 15_000 }).toBe(1);
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
    // The reaction stays on the edited message.
    expect(await message(bob.page, 'Welcome, everyone').getByRole('button', { name: /👍 1/ }).count()).toBe(1);

    await send(alice.page, 'This one will go');
    await expect.poll(() => message(bob.page, 'This one will go').count(), { timeout: 15_000 }).toBe(1);
    await message(alice.page, 'This one will go').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => bob.page.getByText('This message was deleted.').count(), { timeout: 15_000 }).toBe(1);
    expect(await message(bob.page, 'This one will go').count()).toBe(0);

    const violations = await axeViolations(bob.page);
    expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
    await bob.page.screenshot({ path: join(screenshotDir(), 'room-desktop.png') });
  });

  it('loses the network while both write, comes back, and both see every message once', async () => {
    bob.link.cut();
    await bob.context.setOffline(true);
    await expect.poll(() => bob.page.getByRole('status').filter({ hasText: 'Offline' }).count(), { timeout: 30_000 }).toBe(1);

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
      for (const body of expected) await expect.poll(() => message(p.page, body).count(), { timeout: 30_000 }).toBe(1);
    }
    await expect.poll(() => bob.page.getByTestId('pending-message').count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => bob.page.getByRole('status').filter({ hasText: 'Offline' }).count()).toBe(0);
    // Each page shows each body once, in one order, and the server holds each once.
    const seenByAlice = await bodies(alice.page);
    const seenByBob = await bodies(bob.page);
    expect(seenByBob).toEqual(seenByAlice);
    for (const body of expected) expect(seenByAlice.filter((b) => b === body)).toHaveLength(1);
    const history = await roomHistory();
    for (const body of expected) expect(history.filter((b) => b === body)).toHaveLength(1);
  });

  it('reported no script errors in either page', () => {
    expect(pageErrors).toEqual([]);
  });

  it('writes screenshots at phone width', async () => {
    const phone = await browser.newContext({
      viewport: PHONE,
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      baseURL: `http://127.0.0.1:${alice.link.port}`,
    });
    const page = await phone.newPage();
    await page.goto('/');
    await page.getByLabel('Username').fill(alice.username);
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
    const violations = await axeViolations(page);
    expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
    await page.screenshot({ path: join(screenshotDir(), 'room-phone.png') });
    await phone.close();
  });
});

/** The room's history as the server has it, read with Alice's token from her page's storage. */
async function roomHistory(): Promise<string[]> {
  const session = JSON.parse((await alice.page.evaluate(() => localStorage.getItem('chat.session'))) ?? '{}');
  const token: string = session.accessToken;
  const { myRooms } = await gql(stack.queryUrl, `query { myRooms(first: 20) { edges { node { id name } } } }`, {}, token);
  const room = myRooms.edges.find((e: any) => e.node.name === roomName).node;
  const { messages } = await gql(
    stack.queryUrl,
    `query($id: ID!) { messages(roomId: $id, last: 100) { edges { node { body } } } }`,
    { id: room.id },
    token,
  );
  return messages.edges.map((e: any) => e.node.body);
}
