import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress, type Logger } from '@chat/platform';

// Single sign-on through the one origin: GET /auth/oidc/* (config, start, and the provider's
// callback) is passed to the command service, which runs the flow, so the browser never needs
// the command service's address. Its answer comes back as it was: status, the redirect, the
// type, the caching rule and the body. Like proxied mutations, it carries the caller's address.

export const SIGN_ON_PREFIX = '/auth/oidc/';
const PASSED_BACK = ['location', 'content-type', 'cache-control'] as const;
// The callback trades the provider's code for tokens before answering: allow it the time.
const TIMEOUT_MS = 30_000;

export function signOnProxy(commandServiceUrl: string, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = req.url ?? '/';
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !url.startsWith(SIGN_ON_PREFIX)) {
      return json(res, 404, { error: 'NOT_FOUND', message: 'no such sign-on path' });
    }
    void pass(`${commandServiceUrl}${url}`, req, res).catch((error: unknown) => {
      log.warn('cannot reach the command service for sign-on', { error });
      if (!res.headersSent) json(res, 503, { error: 'UNAVAILABLE', message: 'single sign-on cannot be reached right now; retry shortly' });
      else res.destroy();
    });
  };
}

async function pass(target: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const answer = await fetch(target, {
    method: req.method,
    // The browser follows the redirect itself: to the provider, or back to the client.
    redirect: 'manual',
    headers: { 'x-forwarded-for': clientAddress(req) },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = Buffer.from(await answer.arrayBuffer());
  const headers: Record<string, string> = {};
  for (const name of PASSED_BACK) {
    const value = answer.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  res.writeHead(answer.status, headers).end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
