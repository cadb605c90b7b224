import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '@chat/platform';
import { freePort, startStack, type Instance, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { buildWebClient, launchChromium } from '../src/browser.ts';
import { gql, instanceFetch } from '../src/graphql.ts';
import { browse, cookieHeader, keepCookies, newJar, providerForm, startTestProvider, type Jar } from '../src/oidc.ts';

// Single sign-on against a real OpenID Connect provider (the certified `oidc-provider`),
// started here, driven the way a browser would: redirects followed by hand, cookies kept (the
// provider's, and our sign-on cookie, which binds the flow to the browser that started it),
// the provider's own log-in and consent forms submitted. The stack runs as `./chat up` does
// with OIDC_ISSUER set: the provider returns to the query service's origin, which passes
// /auth/oidc/* to the command service, and the web client there is the allowed return_to.
// test/security/sign-on-binding.int.test.ts shows that the binding holds.

const ME = `query { me { id username displayName } }`;
const DELETE_ACCOUNT = `mutation { deleteAccount { __typename ... on DeletedAccount { userId } ... on CommandError { code } } }`;

let stack: Stack;
let provider: Server;
let commandService: Instance;
let queryService: Instance;
let issuer: string;
/** The query service's origin: where the web client is served, so the one return_to allowed by default. */
let returnOrigin: string;

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  // Made up per run, never stored: the provider and our service learn it from here.
  const clientSecret = randomBytes(24).toString('base64url');
  // No OIDC_REDIRECT_URI nor OIDC_RETURN_ORIGINS: the stack defaults them to its query service.
  stack = await startStack('sign-on', { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: 'chat-test', OIDC_CLIENT_SECRET: clientSecret });
  commandService = stack.instance('command-service');
  queryService = stack.instance('query-service');
  returnOrigin = queryService.baseUrl;
  provider = startTestProvider(port, { secret: clientSecret, redirectUri: `${queryService.baseUrl}/auth/oidc/callback` });
}, 180_000);

afterAll(async () => {
  provider?.close();
  await stack?.stop();
});

/**
 * Signs on through the provider as `login`, like a browser: starts at `from` (the command
 * service's own address, or the query service's), follows redirects, keeps cookies in `jar`,
 * submits the provider's log-in and consent forms. Resolves with the response of our callback
 * (JSON) or the redirect it ends with (return_to), and the jar.
 */
async function signOnAs(
  login: string,
  returnTo?: string,
  from = commandService.baseUrl,
  jar = newJar(),
): Promise<{ status: number; location: string | null; body: any; jar: Jar }> {
  let url = `${from}/auth/oidc/start${returnTo ? `?return_to=${encodeURIComponent(returnTo)}` : ''}`;
  let init: RequestInit = {};
  for (let step = 0; step < 20; step++) {
    const toProvider = url.startsWith(issuer);
    const response = await browse(jar, issuer, url, init);
    const location = response.headers.get('location');
    // Our callback, wherever the provider was told to return (the query service's, by default).
    const ours = !toProvider && url.includes('/auth/oidc/callback');
    if (ours) {
      const text = await response.text();
      return { status: response.status, location, body: text ? JSON.parse(text) : null, jar };
    }
    if (location) {
      url = new URL(location, url).href;
      init = {};
      continue;
    }
    const html = await response.text();
    if (!toProvider) return { status: response.status, location: null, body: JSON.parse(html), jar };
    const next = providerForm(html, url, login);
    if (!next) throw new Error(`unexpected page from the provider (${response.status}): ${html.slice(0, 300)}`);
    ({ url, init } = next);
  }
  throw new Error('sign-on did not finish in 20 steps');
}

/** GET /auth/oidc/complete as the browser holding `jar` would; the session (or the refusal) and the answer. */
async function complete(code: string, jar: Jar, at = commandService.baseUrl): Promise<{ status: number; body: any; response: Response }> {
  const headers = jar.ours.size ? { cookie: cookieHeader(jar.ours) } : undefined;
  const response = await instanceFetch(`${at}/auth/oidc/complete?code=${encodeURIComponent(code)}`, { headers });
  keepCookies(jar.ours, response);
  return { status: response.status, body: await response.json(), response };
}

describe('single sign-on through an OpenID Connect provider', () => {
  it('creates the account on the first sign-on and finds it on the second', async () => {
    const first = await signOnAs('olivia');
    expect(first.status).toBe(200);
    const cookie = new Map(first.jar.ours);
    const { status, body: session } = await complete(first.body.signOnCode, first.jar);
    expect(status).toBe(200);
    expect(session).toMatchObject({ userId: expect.any(String), username: 'olivia', accessToken: expect.any(String) });
    expect(first.jar.ours.size).toBe(0); // complete clears the sign-on cookie
    // The code works once, even with the cookie it was bound to.
    expect(await complete(first.body.signOnCode, { provider: new Map(), ours: cookie })).toMatchObject({
      status: 400,
      body: { error: 'SIGN_ON_FAILED' },
    });
    await expect
      .poll(async () => (await gql(stack.queryUrl, ME, {}, session.accessToken)).me, { timeout: 10_000 })
      .toEqual({ id: session.userId, username: 'olivia', displayName: 'Person olivia' });

    const again = await signOnAs('olivia');
    const { body: second } = await complete(again.body.signOnCode, again.jar);
    expect(second).toMatchObject({ userId: session.userId, username: 'olivia' });
    expect(second.accessToken).not.toBe(session.accessToken);
  });

  it('deletes an account that only signs on after a recent sign-on, and then the same person gets a new account', async () => {
    const first = await signOnAs('sam');
    const { body: session } = await complete(first.body.signOnCode, first.jar);
    // The session as if opened 11 minutes ago: no password to ask, and no recent proof either.
    const db = new pg.Client({ connectionString: stack.config.databaseUrl });
    await db.connect();
    try {
      await db.query(
        `UPDATE ${quoteIdent(stack.config.pgSchema)}.auth_sessions SET created_at = now() - interval '11 minutes' WHERE user_id = $1`,
        [session.userId],
      );
    } finally {
      await db.end();
    }
    expect((await gql(stack.queryUrl, DELETE_ACCOUNT, {}, session.accessToken)).deleteAccount).toMatchObject({
      code: 'REAUTHENTICATION_REQUIRED',
    });
    const fresh = await signOnAs('sam');
    const { body: recent } = await complete(fresh.body.signOnCode, fresh.jar);
    expect(recent.userId).toBe(session.userId);
    expect((await gql(stack.queryUrl, DELETE_ACCOUNT, {}, recent.accessToken)).deleteAccount).toEqual({
      __typename: 'DeletedAccount',
      userId: session.userId,
    });
    // Its link to the provider went with it: signing on again makes another account.
    const after = await signOnAs('sam');
    const { body: another } = await complete(after.body.signOnCode, after.jar);
    expect(another.userId).not.toBe(session.userId);
  });

  it("links by the provider's subject, never by name: a taken username gets a suffix and its own account", async () => {
    const local = await signUp(stack.commandUrl, 'paula');
    const paula = await signOnAs('paula');
    const { status, body: signedOn } = await complete(paula.body.signOnCode, paula.jar);
    expect(status).toBe(200);
    expect(signedOn.userId).not.toBe(local.userId);
    expect(signedOn.username).toMatch(/^paula-[0-9a-f]{6}$/);
  });

  it('returns to an allowed client URL with the code, and refuses any other return_to or a forged callback', async () => {
    const back = await signOnAs('quinn', `${returnOrigin}/signed-in`);
    expect(back.status).toBe(303);
    const code = new URL(back.location!).searchParams.get('sign_on_code');
    expect(back.location!.startsWith(`${returnOrigin}/signed-in?`)).toBe(true);
    expect(await complete(code!, back.jar)).toMatchObject({ status: 200, body: { username: 'quinn' } });

    const elsewhere = await instanceFetch(
      `${commandService.baseUrl}/auth/oidc/start?return_to=${encodeURIComponent('https://evil.test/')}`,
      {
        redirect: 'manual',
      },
    );
    expect(elsewhere.status).toBe(400);
    const forged = await instanceFetch(`${commandService.baseUrl}/auth/oidc/callback?code=abc&state=made-up`, {
      redirect: 'manual',
      headers: { cookie: cookieHeader(back.jar.ours) },
    });
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ error: 'SIGN_ON_FAILED' });
  });

  it('runs at the one origin as the web client does: config says enabled, start there (the cookie comes back), back with a code, complete there', async () => {
    const config = await fetch(`${queryService.baseUrl}/auth/oidc/config`);
    expect(config.status).toBe(200);
    expect(config.headers.get('content-type')).toMatch(/^application\/json/);
    expect(config.headers.get('cache-control')).toBe('no-store');
    expect(await config.json()).toEqual({ enabled: true });

    // The first hop as the browser sees it: the command service's redirect, passed back as it was.
    const start = await fetch(`${queryService.baseUrl}/auth/oidc/start?return_to=${encodeURIComponent(`${returnOrigin}/`)}`, {
      redirect: 'manual',
    });
    expect(start.status).toBe(302);
    expect(start.headers.get('cache-control')).toBe('no-store');
    // The binding cookie, passed back by the one endpoint: script cannot read it, cross-site
    // subrequests do not carry it, it goes to /auth only (plain http here, so not Secure).
    const [bindingCookie, ...others] = start.headers.getSetCookie();
    expect(others).toEqual([]);
    expect(bindingCookie).toMatch(/^chat_sign_on=[A-Za-z0-9_-]{43}; Path=\/auth; Max-Age=600; HttpOnly; SameSite=Lax$/);
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.origin).toBe(issuer);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${queryService.baseUrl}/auth/oidc/callback`);

    const back = await signOnAs('rosa', `${returnOrigin}/`, queryService.baseUrl);
    expect(back.status).toBe(303);
    const location = new URL(back.location!);
    expect(`${location.origin}${location.pathname}`).toBe(`${returnOrigin}/`);
    const code = location.searchParams.get('sign_on_code')!;
    const { status, body: session, response } = await complete(code, back.jar, queryService.baseUrl);
    expect(status).toBe(200);
    expect(session).toMatchObject({ username: 'rosa', refreshToken: expect.any(String) });
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.getSetCookie()).toEqual(['chat_sign_on=; Path=/auth; Max-Age=0; HttpOnly; SameSite=Lax']);
    await expect
      .poll(async () => (await gql(stack.queryUrl, ME, {}, session.accessToken)).me, { timeout: 10_000 })
      .toEqual({ id: session.userId, username: 'rosa', displayName: 'Person rosa' });
    // Elsewhere is refused there too, with the command service's own answer.
    const elsewhere = await fetch(`${queryService.baseUrl}/auth/oidc/start?return_to=${encodeURIComponent('https://evil.test/')}`, {
      redirect: 'manual',
    });
    expect(elsewhere.status).toBe(400);
    expect(await elsewhere.json()).toMatchObject({ error: 'INVALID_INPUT' });
  });

  it("signs on from the web client in Chromium: the button, the provider's forms, and back signed in", async () => {
    buildWebClient();
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext({ baseURL: returnOrigin })).newPage();
      await page.goto('/');
      await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
      // The provider's own pages: its log-in form, then its consent.
      await page.locator('input[name="login"]').fill('wendy');
      await page.locator('input[name="password"]').fill('anything');
      await page.locator('button[type="submit"]').click();
      await page.locator('button[type="submit"]').click();
      await page.getByRole('heading', { name: 'Welcome, Person wendy' }).waitFor({ timeout: 15_000 });
      // The one-time code is gone from the address bar, and the session is kept.
      expect(new URL(page.url()).searchParams.has('sign_on_code')).toBe(false);
      const session = JSON.parse((await page.evaluate(() => localStorage.getItem('chat.session'))) ?? '{}');
      expect(session.username).toBe('wendy');
    } finally {
      await browser.close();
    }
  });
});
