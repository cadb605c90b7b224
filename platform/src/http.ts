import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { collectDefaultMetrics, register } from 'prom-client';
import { hardenHttpServer } from './http-hardening.ts';
import { checkReadiness, type ReadinessChecks } from './readiness.ts';

// The HTTP shell every service shares: /healthz answers while the process lives, /readyz
// while the service can do its job (its dependencies reachable, its consumer joined: 503
// with the failing checks' names otherwise); everything else goes to the service's handler
// (GraphQL for the two API services). /health and /ready are older names for the first two.
// The process's Prometheus metrics are on a second, internal listener (startInternalServer),
// with the routes only other instances call: nothing on it is for the public.

export interface HttpOptions {
  port: number;
  host?: string;
  ready: ReadinessChecks;
  handler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** A listener the public reaches: connections are capped per client address too. */
  public?: boolean;
}

let processMetrics = false;

export function startHttpServer({
  port,
  host = '127.0.0.1',
  ready,
  handler,
  public: reachedByPublic = false,
}: HttpOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/healthz' || path === '/health') return reply(res, 200, { status: 'ok' });
    if (path === '/readyz' || path === '/ready') {
      void checkReadiness(ready).then(({ ready: ok, checks }) =>
        reply(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', checks }),
      );
      return;
    }
    if (handler) return handler(req, res);
    reply(res, 404, { error: 'not found' });
  });
  return listen(hardenHttpServer(server, undefined, reachedByPublic), port, host);
}

export interface InternalHttpOptions {
  port: number;
  host?: string;
  /** The service's internal routes; each authenticates its callers as instances itself. */
  handler?: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * The internal listener: /metrics for the scraper (on the deployment's private network, like
 * every internal port), /healthz, and the service's instance-to-instance routes. The one
 * endpoint never proxies here.
 */
export function startInternalServer({ port, host = '127.0.0.1', handler }: InternalHttpOptions): Promise<Server> {
  // The process's own figures beside the service's: CPU, memory, GC, and event-loop delay (a
  // stalled loop is the first suspect when live delivery lags while the CPU is not saturated).
  if (!processMetrics) collectDefaultMetrics({ eventLoopMonitoringPrecision: 10 });
  processMetrics = true;
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/healthz' || path === '/health') return reply(res, 200, { status: 'ok' });
    if (path === '/metrics') {
      void register.metrics().then((text) => {
        res.writeHead(200, { 'content-type': register.contentType });
        res.end(text);
      });
      return;
    }
    if (handler) return handler(req, res);
    reply(res, 404, { error: 'not found' });
  });
  return listen(server, port, host);
}

function listen(server: Server, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * Stops accepting connections and closes the idle ones at once; a request in flight (a mutation
 * waiting for Kafka, say) has `graceMs` to be answered before its connection is cut.
 */
export function closeServer(server: Server, graceMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** `req`'s body, read whole, or undefined once it runs over `maxBytes` (the rest is left unread). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Leaves a body already read where Yoga's server adapter takes it from (req.body, as
 * Express's body parsers leave it), so that it does not read the spent stream. Reading the
 * body ourselves, bounded, is also cheaper than Yoga's own bound (maxRequestBodySize): that
 * streams every body through a TransformStream whose pipeline builds a DOMException, with its
 * stack, per request (about 8 % of the query service's CPU under load, in a profile).
 *
 * A JSON body is left parsed: the adapter tells a parsed body by Object.keys(body), which on
 * a Buffer lists every byte (a profile showed it as the command service's dearest function
 * after socket writes), and Yoga then takes the parsed value as it is instead of parsing again.
 */
export function handBody(req: IncomingMessage, body: Buffer): void {
  if (body.length === 0) return;
  const carrier = req as IncomingMessage & { body?: unknown };
  carrier.body = body;
  if (!req.headers['content-type']?.includes('json')) return;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    // Only a non-empty object or array reads as parsed; anything else stays bytes, for Yoga to judge.
    if (typeof parsed === 'object' && parsed !== null && Object.keys(parsed).length > 0) carrier.body = parsed;
  } catch {
    // Not JSON after all: Yoga answers that itself, from the bytes.
  }
}
