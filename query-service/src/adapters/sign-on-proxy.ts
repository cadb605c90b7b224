import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  INSTANCE_HEADERS,
  SIGN_ON_COOKIE,
  SIGN_ON_PATHS,
  clientAddress,
  signOnCookieValues,
  signedFetch,
  type InstanceAuth,
  type Logger,
} from '@chat/platform';

// Single sign-on through the one origin: GET /auth/oidc/{config,start,callback,complete} is passed
// to the command service, which runs the flow, so the browser never needs the command service's
// address. Its answer comes back as it was: status, the redirect, the type, the caching rule, the
// cookies it sets and the body. Like proxied mutations, each pass is signed as this instance and
// vouches for the caller's address. Of the browser's cookies only the sign-on cookie passes
// (it binds the flow to the browser); it is a credential, so it is never logged here.
//
// Only those paths pass, compared after the URL parser has resolved dot segments (`..`,
// `%2e%2e`) and with nothing but the query string appended: a path that would reach any other
// route of the command service is refused here, whatever its spelling.

const ALLOWED = new Set<string>(Object.values(SIGN_ON_PATHS));
const PASSED_BACK = ['location', 'content-type', 'cache-control'] as const;
// The callback trades the provider's code for tokens before answering: allow it the time.
const TIMEOUT_MS = 30_000;

export function signOnProxy(
  commandServiceUrl: string,
  auth: InstanceAuth,
  log: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const target = passedPath(req.url ?? '/');
    if ((req.method !== 'GET' && req.method !== 'HEAD') || target === undefined) {
      return json(res, 404, { error: 'NOT_FOUND', message: 'no such sign-on path' });
    }
    void pass(`${commandServiceUrl}${target}`, auth, req, res).catch((error: unknown) => {
      log.warn('cannot reach the command service for sign-on', { error });
      if (!res.headersSent) json(res, 503, { error: 'UNAVAILABLE', message: 'single sign-on cannot be reached right now; retry shortly' });
      else res.destroy();
    });
  };
}

/** The path and query to pass on, or undefined when the request names no sign-on route. */
export function passedPath(raw: string): string | undefined {
  // Backslashes and encoded slashes are never part of a sign-on route's path; refuse rather than guess.
  if (/\\|%2f|%5c/i.test(raw.split('?')[0]!)) return undefined;
  let url: URL;
  try {
    url = new URL(raw, 'http://sign-on.invalid');
  } catch {
    return undefined;
  }
  if (url.origin !== 'http://sign-on.invalid' || !ALLOWED.has(url.pathname)) return undefined;
  return `${url.pathname}${url.search}`;
}

async function pass(target: string, auth: InstanceAuth, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const answer = await signedFetch(auth, target, {
    method: req.method,
    // The browser follows the redirect itself: to the provider, or back to the client.
    redirect: 'manual',
    headers: { [INSTANCE_HEADERS.clientAddress]: clientAddress(req), ...signOnCookie(req) },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = Buffer.from(await answer.arrayBuffer());
  const headers: Record<string, string | string[]> = {};
  for (const name of PASSED_BACK) {
    const value = answer.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const cookies = answer.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  res.writeHead(answer.status, headers).end(body);
}

/** The request's sign-on cookies as a Cookie header to pass on; none of its other cookies. */
function signOnCookie(req: IncomingMessage): { cookie?: string } {
  const values = signOnCookieValues(req.headers.cookie);
  return values.length > 0 ? { cookie: values.map((value) => `${SIGN_ON_COOKIE}=${value}`).join('; ') } : {};
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
