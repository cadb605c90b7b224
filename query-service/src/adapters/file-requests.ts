import type { IncomingMessage, ServerResponse } from 'node:http';

// What every file route of the one endpoint (attachments, data exports) does before it reads
// anything: the caller from the same access token as any query, counted in the same rate.

export interface FileCaller {
  /** The caller of an Authorization header value, or why there is none. */
  callerOf(authorization: string | undefined): Promise<{ userId: string } | { code: string; message: string }>;
  /** Counts one fetch against the caller's query rate; when over, how long to wait. */
  admit(userId: string): Promise<{ retryAfterSeconds: number } | undefined>;
}

/** The caller's user id, or undefined once the request has been refused (401, 429 or 503). */
export async function admitFileCaller(deps: FileCaller, req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
  const caller = await deps.callerOf(req.headers.authorization);
  if ('code' in caller) return void refuse(res, caller.code === 'UNAVAILABLE' ? 503 : 401, caller.code, caller.message);
  const limited = await deps.admit(caller.userId);
  if (limited) {
    res.setHeader('retry-after', String(limited.retryAfterSeconds));
    return void refuse(res, 429, 'RATE_LIMITED', `too many requests; retry in ${limited.retryAfterSeconds} s`);
  }
  return caller.userId;
}

export function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: { code, message } }));
}
