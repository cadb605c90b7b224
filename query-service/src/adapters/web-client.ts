import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';

// The browser client (web/, built by Vite into web/dist) served at this service's own origin,
// so everything it asks for (/graphql over HTTP and graphql-ws, /auth/oidc/*) is same-origin:
// no CORS, and `./chat up` has one URL to open. Unknown paths without an extension get
// index.html (the client routes them itself).

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

// Scripts and styles only from here (Vite emits no inline script); avatars may come from any
// https host. 'self' in connect-src covers ws: to this same origin (CSP Level 3; the test opens
// one under this policy in Chromium). Uploads go straight to the object store (`storeOrigin`,
// S3_PUBLIC_ENDPOINT's), and attachments, fetched with the access token, are shown from blob: URLs.
function securityHeaders(storeOrigin: string): Record<string, string> {
  return {
    'content-security-policy': `default-src 'self'; connect-src 'self' ${storeOrigin}; img-src 'self' https: data: blob:; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}
// Vite names everything under assets/ by its content hash: a changed file is a new URL.
const IMMUTABLE = 'public, max-age=31536000, immutable';
const NOT_BUILT = 'The web client is not built: run `./chat build -w @chat/web` (./chat up does it), then reload.\n';

/** Where the built client is: WEB_DIST, else web/dist beside this service in the repository (or the image). */
export function webDist(env: NodeJS.ProcessEnv = process.env): string {
  return env.WEB_DIST ? resolve(env.WEB_DIST) : fileURLToPath(new URL('../../../web/dist', import.meta.url));
}

export function isBuilt(dist: string): boolean {
  return existsSync(join(dist, 'index.html'));
}

/**
 * Whether a request is the web client's: a GET or HEAD of anything but the GraphQL endpoint
 * (GraphiQL is served there) and /auth/ (sign-on, passed to the command service). /health,
 * /ready and /metrics never get this far: the HTTP shell answers them first.
 */
export function isWebClientRequest(req: IncomingMessage, graphqlEndpoint: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = (req.url ?? '/').split('?')[0]!;
  return path !== graphqlEndpoint && !path.startsWith('/auth/');
}

export function serveWebClient(dist: string, storeOrigin: string): Handler {
  const headers = securityHeaders(storeOrigin);
  const files = sirv(dist, {
    // Looked up on disk per request instead of listed once at start-up: a rebuild while the
    // service runs (new hashed names, a longer index.html) is served at once, never a stale
    // list with wrong lengths. sirv still refuses any path that resolves outside `dist`.
    dev: true,
    etag: true,
    single: true,
    // A hashed file that is not there is a 404: index.html under /assets/ would be cached as immutable.
    ignores: ['^/assets/'],
    setHeaders: (res, pathname) => res.setHeader('cache-control', pathname.startsWith('/assets/') ? IMMUTABLE : 'no-cache'),
  });
  return (req, res) => {
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (!isBuilt(dist)) return text(res, 503, NOT_BUILT);
    // Dot segments and dotfiles are never part of the client; sirv's dev mode would serve a dotfile.
    if (hasDotSegment(req.url ?? '/')) return text(res, 404, 'not found\n');
    files(req, res, () => text(res, 404, 'not found\n'));
  };
}

/** Whether the path, as sent or percent-decoded, has a segment starting with a dot (`..`, `.env`). */
function hasDotSegment(url: string): boolean {
  const path = url.split('?')[0]!;
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // a malformed escape: judged as sent, and sirv finds no such file
  }
  return /\/\./.test(path) || /[/\\]\./.test(decoded);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}
