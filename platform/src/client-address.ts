import type { IncomingMessage } from 'node:http';

// The address a request came from, as per-address limits count it. Kept apart from the HTTP
// shell because it is a trust decision, not plumbing.

/**
 * The first X-Forwarded-For entry when TRUST_PROXY=1 (the service sits behind a proxy that sets
 * it, such as the query service's one endpoint in front of the command service), else the
 * socket's peer.
 */
export function clientAddress(req: IncomingMessage, trustProxy = process.env.TRUST_PROXY === '1'): string {
  const forwarded = trustProxy ? req.headers['x-forwarded-for'] : undefined;
  const first = typeof forwarded === 'string' ? forwarded.split(',')[0]?.trim() : undefined;
  return first || req.socket.remoteAddress || 'unknown';
}
