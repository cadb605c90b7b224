import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Instance, type Stack } from '@chat/infra';
import { launchChromium } from '../src/browser.ts';
import { signUp } from '../src/accounts.ts';

// Issue 18, attack 12: the one endpoint reflected any Origin with credentials allowed, served
// GraphiQL without a Content-Security-Policy on the origin whose localStorage holds the tokens,
// and had introspection and the playground on by default. Now CORS is off unless CORS_ORIGINS
// lists origins (and then without credentials), introspection and the playground are off
// unless GRAPHQL_INTROSPECTION=on and GRAPHQL_PLAYGROUND=on, and the playground page runs
// under a policy that admits only its own inline script, checked in headless Chromium.

let stack: Stack;
let open: Instance;
let listed: Instance;

beforeAll(async () => {
  // The stack as a deployment runs it, with nothing enabled.
  stack = await startStack('public-surface');
  [open, listed] = await Promise.all([
    stack.startExtra('query-service', { GRAPHQL_INTROSPECTION: 'on', GRAPHQL_PLAYGROUND: 'on' }),
    stack.startExtra('query-service', { CORS_ORIGINS: 'https://chat.example, https://admin.example' }),
  ]);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const EVIL = 'https://evil.example';

function preflight(url: string, origin: string) {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
}

function post(url: string, origin: string, query = '{ __typename }') {
  return fetch(url, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
}

describe('the public surface', () => {
  it('reflects no origin by default: neither a preflight nor a request gets CORS headers', async () => {
    for (const response of [await preflight(stack.queryUrl, EVIL), await post(stack.queryUrl, EVIL)]) {
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('allows only the origins CORS_ORIGINS lists, without credentials', async () => {
    const allowed = await preflight(listed.url, 'https://admin.example');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example');
    expect(allowed.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await post(listed.url, 'https://chat.example')).headers.get('access-control-allow-origin')).toBe('https://chat.example');
    for (const response of [await preflight(listed.url, EVIL), await post(listed.url, EVIL)]) {
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('serves neither introspection nor the playground unless enabled', async () => {
    const token = (await signUp(stack.commandUrl, 'surveyor')).accessToken;
    const introspect = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: getIntrospectionQuery() }),
      }).then((r) => r.json() as Promise<{ data?: unknown; errors?: { message: string }[] }>);
    const closed = await introspect(stack.queryUrl);
    expect(closed.data).toBeUndefined();
    expect(closed.errors?.[0]?.message).toMatch(/introspection/i);
    const page = await fetch(stack.queryUrl, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
    // Enabled, both work (introspection within the cost limits).
    expect((await introspect(open.url)).data).toMatchObject({ __schema: { queryType: { name: 'Query' } } });
    expect(await (await fetch(open.url, { headers: { accept: 'text/html' } })).text()).toMatch(/graphiql/i);
  });

  it('serves the playground under a Content-Security-Policy that its page works under, and that stops injected script', async () => {
    const page = await fetch(open.url, { headers: { accept: 'text/html' } });
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/default-src 'none'/);
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/); // its own script only: no 'unsafe-inline', no hosts
    expect(policy).toMatch(/frame-ancestors 'none'/);
    expect(await page.text()).toContain('<meta http-equiv="Content-Security-Policy"');

    const token = (await signUp(stack.commandUrl, 'playful')).accessToken;
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      const violations: string[] = [];
      tab.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await tab.goto(open.url);
      // GraphiQL renders and runs a query, with the token in its headers, through its own fetcher.
      await tab.waitForSelector('.graphiql-container', { timeout: 30_000 });
      const answer = await tab.evaluate(async (accessToken) => {
        const response = await fetch(location.href, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
          body: JSON.stringify({ query: '{ me { username } }' }),
        });
        return response.json();
      }, token);
      expect(answer).toEqual({ data: { me: { username: 'playful' } } });
      expect(violations).toEqual([]);
      // A script that is not the page's own does not run.
      const injected = await tab.evaluate(() => {
        const script = document.createElement('script');
        script.textContent = 'window.injected = true';
        document.body.append(script);
        return (window as unknown as { injected?: boolean }).injected ?? false;
      });
      expect(injected).toBe(false);
    } finally {
      await browser.close();
    }
  }, 90_000);
});
