import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startStack, type Stack } from '@chat/infra';
import { TEST_PASSWORD } from './accounts.ts';
import { CuttableLink, buildWebClient, launchChromium } from './browser.ts';
import { gql } from './graphql.ts';

// A person at the web client, as the browser tests drive one: their own browser context,
// reaching the platform through their own network link, found on the page by roles and
// labels the way a screen reader would find things.

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export interface Person {
  name: string;
  username: string;
  link: CuttableLink;
  context: BrowserContext;
  page: Page;
  /** What the page reported as broken: script errors, console errors other than a cut network's. */
  errors: string[];
  /** The page's last console lines of every kind, timed: printed when a test fails. */
  console: string[];
}

const CONSOLE_KEPT = 60;

export async function person(
  browser: Browser,
  name: string,
  platformPort: number,
  suffix = randomBytes(3).toString('hex'),
): Promise<Person> {
  const link = new CuttableLink(platformPort);
  const origin = await link.start();
  const context = await browser.newContext({ baseURL: origin, viewport: DESKTOP });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('dialog', (dialog) => void dialog.accept());
  page.on('pageerror', (error) => errors.push(error.message));
  const consoleLines: string[] = [];
  // Every tab of the person's browser, the ones a test opens later too.
  context.on('console', (line) => {
    const tab = line.page() === page ? '' : ` (tab ${context.pages().indexOf(line.page()!) + 1})`;
    consoleLines.push(`${new Date().toISOString().slice(11, 23)}${tab} ${line.type()} ${line.text().slice(0, 300)}`);
    if (consoleLines.length > CONSOLE_KEPT) consoleLines.shift();
    // Chromium's own lines while the network or the server is down (failed loads, a refused
    // WebSocket, a ping on a dead socket) are expected.
    const networkGone = /net::ERR_|WebSocket is already in CLOSING or CLOSED state|WebSocket connection to .* failed/.test(line.text());
    if (line.type() !== 'error' || networkGone) return;
    // An object logged whole reads "Object" as text: its JSON says what it was.
    void Promise.all(line.args().map((arg) => arg.jsonValue().catch(() => '?'))).then((values) =>
      errors.push(`${line.text()} ${JSON.stringify(values).slice(0, 500)}`),
    );
  });
  return { name, username: `${name.toLowerCase()}_${suffix}`, link, context, page, errors, console: consoleLines };
}

export async function signUpOnPage(p: Person): Promise<void> {
  await p.page.goto('/');
  await p.page.getByRole('button', { name: 'New here? Create an account' }).click();
  await p.page.getByLabel('Username').fill(p.username);
  await p.page.getByLabel('Display name').fill(p.name);
  await p.page.getByLabel('Password').fill(TEST_PASSWORD);
  await p.page.getByRole('button', { name: 'Sign up' }).click();
  await p.page.getByRole('heading', { name: `Welcome, ${p.name}` }).waitFor({ timeout: 15_000 });
}

export function composer(page: Page) {
  return page.getByRole('textbox', { name: 'Message' });
}

export async function send(page: Page, body: string): Promise<void> {
  await composer(page).fill(body);
  await composer(page).press('Enter');
}

/** The shown message whose body is exactly `body`. */
export function message(page: Page, body: string) {
  return page.getByTestId('message').filter({ has: page.getByTestId('body').getByText(body, { exact: true }) });
}

/** Every body shown in the open room, in order (messages still on their way excluded). */
export function bodies(page: Page): Promise<string[]> {
  return page.getByTestId('message').getByTestId('body').allInnerTexts();
}

export async function openRoom(page: Page, name: string): Promise<void> {
  await page
    .getByRole('navigation')
    .getByRole('link', { name: new RegExp(`^${name}`) })
    .click();
  await heading(page, name).waitFor({ timeout: 15_000 });
}

export function heading(page: Page, name: string) {
  return page.getByRole('heading', { level: 1, name });
}

export function offlineBanner(page: Page) {
  return page.getByRole('status').filter({ hasText: 'Offline' });
}

/** A failed step leaves each page's picture in the temp folder, to see what the person saw. */
export async function keepPictures(label: string, people: (Person | undefined)[]): Promise<void> {
  const name = label.replace(/\W+/g, '-').slice(0, 40);
  for (const p of people) await p?.page.screenshot({ path: join(tmpdir(), `web-${name}-${p.name}.png`) }).catch(() => undefined);
  for (const p of people) if (p) console.error(await pageReport(p));
}

/** What a failed test's page showed and did: the banner, the messages, the queue, its last console lines (a CI log keeps it). */
async function pageReport(p: Person): Promise<string> {
  const shown = await p.page
    .evaluate(() => ({
      url: location.href,
      banners: [...document.querySelectorAll('.banner')].map((b) => b.textContent),
      messages: [...document.querySelectorAll('[data-testid="message"] [data-testid="body"]')].map((b) => b.textContent).slice(-15),
      pending: [...document.querySelectorAll('[data-testid="pending-message"]')].map((b) => b.textContent),
      outboxes: Object.keys(localStorage)
        .filter((key) => key.startsWith('chat.outbox.'))
        .map((key) => localStorage.getItem(key)),
    }))
    .catch((error: unknown) => ({ unreadable: String(error) }));
  return [`--- ${p.name}'s page when the test failed: ${JSON.stringify(shown)}`, ...p.console].join('\n  ');
}

/** The session the person's page holds (what the web client keeps in localStorage). */
export async function sessionOf(p: Person): Promise<{ accessToken?: string; username?: string } | null> {
  return JSON.parse((await p.page.evaluate(() => localStorage.getItem('chat.session'))) ?? 'null');
}

export async function accessTokenOf(p: Person): Promise<string> {
  const token = (await sessionOf(p))?.accessToken;
  if (!token) throw new Error(`${p.name} is not signed in`);
  return token;
}

/** The bodies of a room's history as the server holds them, read with the person's own token. */
export async function serverHistory(queryUrl: string, p: Person, roomName: string): Promise<string[]> {
  const token = await accessTokenOf(p);
  const { myRooms } = await gql(queryUrl, `query { myRooms(first: 50) { edges { node { id name } } } }`, {}, token);
  const room = myRooms.edges.find((e: any) => e.node.name === roomName).node;
  const { messages } = await gql(
    queryUrl,
    `query($id: ID!) { messages(roomId: $id, last: 200) { edges { node { body } } } }`,
    { id: room.id },
    token,
  );
  return messages.edges.map((e: any) => e.node.body);
}
export interface Scene {
  stack: Stack;
  browser: Browser;
  alice: Person;
  bob: Person;
}

/**
 * Two people at the web client over one test stack, for a test file: started before its tests
 * (the client built from the tree first), stopped after them, and each failed test leaves both
 * pages' pictures. The fields are filled once the file's tests run.
 */
export function twoPeople(label: string, env: NodeJS.ProcessEnv = {}, suffix = randomBytes(3).toString('hex')): Scene {
  const scene = {} as Scene;
  beforeAll(async () => {
    buildWebClient();
    scene.stack = await startStack(label, env);
    scene.browser = await launchChromium();
    const port = Number(new URL(scene.stack.queryUrl).port);
    scene.alice = await person(scene.browser, 'Alice', port, suffix);
    scene.bob = await person(scene.browser, 'Bob', port, suffix);
  }, 180_000);
  afterAll(async () => {
    await scene.browser?.close();
    await scene.alice?.link.stop();
    await scene.bob?.link.stop();
    await scene.stack?.stop();
  });
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') await keepPictures(context.task.name, [scene.alice, scene.bob]);
  });
  return scene;
}
