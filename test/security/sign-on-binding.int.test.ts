import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startStack, type Stack } from '@chat/infra';
import { createPgPool } from '@chat/platform';
import { buildWebClient, launchChromium } from '../src/browser.ts';
import { browse, newJar, providerForm, startTestProvider, type Jar } from '../src/oidc.ts';

// Issue 18, attack 15: a single sign-on's one-time code was redeemed by whichever browser
// opened it, so an attacker could sign on with their own provider account, stop, and send the
// code (or the provider's callback URL) to a victim, whose browser then signed into the
// attacker's account (login CSRF: what the victim writes next is the attacker's to read).
// Now /auth/oidc/start sets an HttpOnly cookie and the flow and the code are bound to it: a
// callback or a code from another browser is refused, opens no session, and uses nothing up.
// Everything goes through the one endpoint, as a browser sees it, against a real provider.

let stack: Stack;
let provider: Server;
let pool: pg.Pool;
let issuer: string;
let origin: string;

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  const clientSecret = randomBytes(24).toString('base64url');
  stack = await startStack('sign-on-binding', { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: 'chat-test', OIDC_CLIENT_SECRET: clientSecret });
  origin = new URL(stack.queryUrl).origin;
  provider = startTestProvider(port, { secret: clientSecret, redirectUri: `${origin}/auth/oidc/callback` });
  pool = createPgPool(stack.config, 2);
}, 180_000);

afterAll(async () => {
  provider?.close();
  await pool?.end();
  await stack?.stop();
});

/**
 * Runs the flow as `login` in the browser holding `jar`, from start (with the web client as
 * return_to) through the provider's forms, up to our callback: its URL, not yet opened.
 */
async function untilCallback(jar: Jar, login: string): Promise<string> {
  let url = `${origin}/auth/oidc/start?return_to=${encodeURIComponent(`${origin}/`)}`;
  let init: RequestInit = {};
  for (let step = 0; step < 20; step++) {
    if (url.startsWith(`${origin}/auth/oidc/callback`)) return url;
    const response = await browse(jar, issuer, url, init);
    const location = response.headers.get('location');
    init = {};
    if (location) {
      url = new URL(location, url).href;
      continue;
    }
    const html = await response.text();
    const next = providerForm(html, url, login);
    if (!next) throw new Error(`unexpected page (${response.status}): ${html.slice(0, 300)}`);
    ({ url, init } = next);
  }
  throw new Error('sign-on did not reach the callback in 20 steps');
}

/** The one-time code that `login`'s sign-on in `jar`'s browser ends with. */
async function codeFor(jar: Jar, login: string): Promise<string> {
  const back = await browse(jar, issuer, await untilCallback(jar, login));
  expect(back.status).toBe(303);
  return new URL(back.headers.get('location')!).searchParams.get('sign_on_code')!;
}

async function complete(jar: Jar, code: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await browse(jar, issuer, `${origin}/auth/oidc/complete?code=${encodeURIComponent(code)}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A browser that has started a sign-on of its own: it holds a sign-on cookie, just not the attacker's. */
async function busyVictim(): Promise<Jar> {
  const jar = newJar();
  expect((await browse(jar, issuer, `${origin}/auth/oidc/start`)).status).toBe(302);
  expect(jar.ours.get('chat_sign_on')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return jar;
}

/** The accounts linked to the provider's user `login` (its subject), and the sessions ever opened for them. */
async function accountOf(login: string): Promise<{ accounts: number; sessions: number }> {
  const { rows } = await pool.query<{ accounts: number; sessions: number }>(
    `SELECT count(DISTINCT l.user_id)::int AS accounts, count(s.session_id)::int AS sessions
       FROM auth_identity_links l LEFT JOIN auth_sessions s USING (user_id) WHERE l.subject = $1`,
    [login],
  );
  return rows[0]!;
}

const REFUSED = { status: 400, body: { error: 'SIGN_ON_FAILED' } };

describe('single sign-on is bound to the browser that started it', () => {
  it("refuses an attacker's code in a victim's browser, with no sign-on cookie or its own, and opens no session", async () => {
    const attacker = newJar();
    const code = await codeFor(attacker, 'mallory');

    const fresh = await complete(newJar(), code);
    expect(fresh).toMatchObject(REFUSED);
    expect(fresh.body).not.toHaveProperty('accessToken');
    expect(await complete(await busyVictim(), code)).toMatchObject(REFUSED);
    // The callback made the attacker's account; the victim's attempts opened no session in it.
    expect(await accountOf('mallory')).toEqual({ accounts: 1, sessions: 0 });

    // The foreign attempts used nothing up: the attacker's own browser (the rightful one) still can.
    const own = await complete(attacker, code);
    expect(own).toMatchObject({ status: 200, body: { username: 'mallory', accessToken: expect.any(String) } });
    expect(await accountOf('mallory')).toEqual({ accounts: 1, sessions: 1 });
  });

  it("refuses a callback whose state belongs to another browser's flow, and leaves the flow to its browser", async () => {
    const attacker = newJar();
    const callback = await untilCallback(attacker, 'trudy');

    for (const victim of [newJar(), await busyVictim()]) {
      const refused = await browse(victim, issuer, callback);
      expect(refused.status).toBe(400);
      expect(refused.headers.get('location')).toBeNull();
      expect(await refused.json()).toMatchObject({ error: 'SIGN_ON_FAILED' });
    }
    // Refused before the provider's code was traded: no account, no session.
    expect(await accountOf('trudy')).toEqual({ accounts: 0, sessions: 0 });

    const back = await browse(attacker, issuer, callback);
    expect(back.status).toBe(303);
    const code = new URL(back.headers.get('location')!).searchParams.get('sign_on_code')!;
    expect(await complete(attacker, code)).toMatchObject({ status: 200, body: { username: 'trudy' } });
  });

  it("in Chromium: an attacker's code link signs the victim into nothing; the victim's own sign-on still works", async () => {
    buildWebClient();
    const code = await codeFor(newJar(), 'oscar');
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext({ baseURL: origin })).newPage();
      await page.goto(`/?sign_on_code=${code}`);
      await page.getByText('Single sign-on did not finish; try again.').waitFor({ timeout: 15_000 });
      expect(await page.evaluate(() => localStorage.getItem('chat.session'))).toBeNull();
      expect(await accountOf('oscar')).toEqual({ accounts: 1, sessions: 0 });

      await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
      await page.locator('input[name="login"]').fill('victoria');
      await page.locator('input[name="password"]').fill('anything');
      await page.locator('button[type="submit"]').click();
      await page.locator('button[type="submit"]').click();
      await page.getByRole('heading', { name: 'Welcome, Person victoria' }).waitFor({ timeout: 15_000 });
      const session = JSON.parse((await page.evaluate(() => localStorage.getItem('chat.session'))) ?? '{}');
      expect(session.username).toBe('victoria');
      // The binding cookie is gone once the code is traded.
      expect((await page.context().cookies()).map((c) => c.name)).not.toContain('chat_sign_on');
    } finally {
      await browser.close();
    }
  });
});
