import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startStack, type Instance, type Stack } from '@chat/infra';
import { waitFor } from '@chat/platform';
import { launchChromium } from '../src/browser.ts';
import { gql, instanceFetch } from '../src/graphql.ts';
import { rawGet } from '../src/raw-http.ts';

// The query service serves the built browser client at its own origin: a made-up build here
// (web/dist may or may not be built when this runs), pointed at with WEB_DIST.

// Connections to this origin and to the object store (uploads go straight there); images from blobs too (attachments).
const csp = () =>
  `default-src 'self'; connect-src 'self' ${new URL(stack.config.objectStore.publicEndpoint).origin}; img-src 'self' https: data: blob:; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
// In the folder above the build: what a path escaping the build would reach first.
const SECRET = 'not-for-the-browser-7f3a';
const REPO_PACKAGE = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
// Opens a socket to this same origin's GraphQL endpoint, as the client does, and says how it went.
const APP_JS = `const socket = new WebSocket(location.origin.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
socket.onopen = () => { document.body.dataset.ws = 'open'; socket.close(); };
socket.onerror = () => { document.body.dataset.ws = 'error'; };
`;
// The inline script must not run: the policy allows scripts from this origin only.
const INDEX_HTML = `<!doctype html><html><head><title>fixture</title><script type="module" src="/assets/app-abc123.js"></script></head>
<body><div id="root">fixture client</div><script>document.body.dataset.inline = 'ran';</script></body></html>`;

let stack: Stack;
let root: string;
let web: Instance;
/** No build, and a command service that is not there. */
let unbuilt: Instance;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'chat-web-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: SECRET }));
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), INDEX_HTML);
  writeFileSync(join(dist, 'assets', 'app-abc123.js'), APP_JS);
  writeFileSync(join(dist, '.env'), SECRET);
  const empty = join(root, 'empty');
  mkdirSync(empty);
  stack = await startStack('web-client');
  [web, unbuilt] = await Promise.all([
    stack.startExtra('query-service', { WEB_DIST: dist, GRAPHQL_PLAYGROUND: 'on' }),
    stack.startExtra('query-service', { WEB_DIST: empty, COMMAND_SERVICE_URL: `http://127.0.0.1:${await freePort()}` }),
  ]);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the web client at the one origin', () => {
  it('serves index.html at / and for client routes, never cached without asking, under the security headers', async () => {
    for (const path of ['/', '/rooms/123', '/rooms/123?tab=members']) {
      const response = await fetch(`${web.baseUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('content-security-policy')).toBe(csp());
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(await response.text()).toBe(INDEX_HTML);
    }
    // HEAD answers the same headers with no body.
    const head = await fetch(`${web.baseUrl}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-security-policy')).toBe(csp());
  });

  it('serves hashed assets as immutable for a year, and a missing one as 404, never index.html', async () => {
    const asset = await fetch(`${web.baseUrl}/assets/app-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-security-policy')).toBe(csp());
    expect(await asset.text()).toBe(APP_JS);
    for (const path of ['/assets/app-000000.js', '/assets/gone', '/favicon.ico']) {
      const missing = await fetch(`${web.baseUrl}${path}`);
      expect(missing.status, path).toBe(404);
      expect(await missing.text()).not.toContain('fixture client');
    }
  });

  it('never serves a file outside the build, nor a dotfile in it', async () => {
    const paths = [
      '/../package.json',
      '/%2e%2e/package.json',
      '/%2E%2E/%2E%2E/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/..%2fpackage.json',
      '/assets/../../package.json',
      '/.env',
      '/%2eenv',
    ];
    for (const path of paths) {
      const { status, body } = await rawGet(web.baseUrl, path);
      expect(body, path).not.toContain(SECRET);
      expect(body, path).not.toBe(REPO_PACKAGE);
      expect(body, path).not.toContain('"workspaces"');
      expect([200, 400, 404], path).toContain(status);
    }
  });

  it('leaves GraphQL where it was: POST /graphql answers, and GET /graphql is still the playground', async () => {
    expect(await gql(web.url, '{ __typename }')).toEqual({ __typename: 'Query' });
    const playground = await fetch(web.url, { headers: { accept: 'text/html' } });
    expect(playground.status).toBe(200);
    expect(await playground.text()).toMatch(/graphiql/i);
    // Under its own policy (its inline script by hash), not the web client's.
    expect(playground.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    expect((await fetch(`${web.baseUrl}/health`)).status).toBe(200);
  });

  it('says how to build the client when there is none, and still serves GraphQL', async () => {
    const response = await fetch(`${unbuilt.baseUrl}/`);
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toContain('./chat build -w @chat/web');
    expect(await gql(unbuilt.url, '{ __typename }')).toEqual({ __typename: 'Query' });
  });

  it('tells the client whether single sign-on is on (not in this stack), and that it cannot be reached without a command service', async () => {
    // The command service answers instances only: the test signs as one, as the one endpoint does.
    for (const url of [`${web.baseUrl}/auth/oidc/config`, `${stack.instance('command-service').baseUrl}/auth/oidc/config`]) {
      const config = await instanceFetch(url);
      expect(config.status, url).toBe(200);
      expect(config.headers.get('cache-control')).toBe('no-store');
      expect(await config.json()).toEqual({ enabled: false });
    }
    const start = await fetch(`${web.baseUrl}/auth/oidc/start`, { redirect: 'manual' });
    expect(start.status).toBe(404);
    expect(await start.json()).toMatchObject({ error: 'NOT_FOUND' });
    // Only GET and HEAD of /auth/oidc/* are passed on.
    expect((await fetch(`${web.baseUrl}/auth/oidc/config`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${web.baseUrl}/auth/other`)).status).toBe(404);

    const down = await fetch(`${unbuilt.baseUrl}/auth/oidc/config`);
    expect(down.status).toBe(503);
    expect(down.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await down.json()).toMatchObject({ error: 'UNAVAILABLE' });
  });

  it('lets the page open a graphql-ws socket to its own origin under the policy, in Chromium, while inline scripts stay blocked', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await page.goto(`${web.baseUrl}/rooms/1`);
      // Strings, not functions: they run in the page, and this file is type-checked without the DOM.
      // Polled with evaluate (DevTools' own evaluation), not waitForFunction, whose in-page
      // polling evaluates a string and is itself refused by the page's policy (no 'unsafe-eval').
      await waitFor(
        'the page to open its socket',
        async () => ((await page.evaluate('document.body.dataset.ws')) !== undefined ? true : undefined),
        {
          timeoutMs: 10_000,
          intervalMs: 100,
        },
      );
      expect(await page.evaluate('document.body.dataset.ws')).toBe('open');
      expect(await page.evaluate('document.body.dataset.inline')).toBeUndefined();
      // The one violation is the inline script's: none for the socket.
      expect(violations.length).toBeGreaterThan(0);
      expect(violations.filter((text) => /connect-src/.test(text))).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
