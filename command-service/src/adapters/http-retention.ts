import type { IncomingMessage, ServerResponse } from 'node:http';
import { readInstanceCall, refuseInstanceCall, type InstanceAuth, type Logger } from '@chat/platform';
import type { RoomRetention } from '../app/retention.ts';

// The retention sweep on demand, on the internal listener, for instances and operators holding
// the instance secret: POST {"now": <epoch ms>} runs one pass over this instance's rooms as of
// that time (a test's clock, or an operator catching up at once); {} runs it as of now.

export const RETENTION_SWEEP_PATH = '/retention/sweep';

export async function serveRetentionSweep(
  retention: RoomRetention,
  auth: InstanceAuth,
  req: IncomingMessage,
  res: ServerResponse,
  log: Logger,
): Promise<void> {
  const call = await readInstanceCall(auth, req, 1024);
  if (!call.ok) return refuseInstanceCall(res, call.status, call.message);
  if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
  let now = Date.now();
  try {
    const body = call.body.length === 0 ? {} : (JSON.parse(call.body.toString('utf8')) as { now?: unknown });
    if (body.now !== undefined) {
      if (!Number.isSafeInteger(body.now) || (body.now as number) <= 0) throw new Error('now must be epoch milliseconds');
      now = body.now as number;
    }
  } catch (error) {
    return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (error as Error).message }));
  }
  try {
    const result = await retention.sweep(now);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  } catch (error) {
    log.warn('retention sweep failed', { error });
    res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'the sweep failed; retry' }));
  }
}
