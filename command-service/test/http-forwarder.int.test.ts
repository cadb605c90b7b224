import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, InstanceAuth } from '@chat/platform';
import { HttpForwarder } from '../src/adapters/http-forwarder.ts';
import type { ForwardedCommand } from '../src/app/command-handler.ts';

// Forwarding to an owner that takes the request and never answers (frozen, or dying after it
// ran the command): the forwarder cannot know whether the command ran. Under an idempotency
// key it may go again (the owner answers a second arrival with the first one's outcome);
// without one it must not, or the command could run twice.

const requests: string[] = [];
let owner: Server;
let endpoint: string;

beforeAll(async () => {
  owner = createServer((req) => {
    req.resume();
    requests.push(req.url ?? '');
  });
  await new Promise<void>((resolve) => owner.listen(0, '127.0.0.1', resolve));
  const address = owner.address() as { port: number };
  endpoint = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  owner.closeAllConnections();
  await new Promise((resolve) => owner.close(resolve));
});

function forwarder(): HttpForwarder {
  const directory = { owners: async () => new Map([[0, endpoint]]) };
  return new HttpForwarder(directory, 'http://self', new InstanceAuth('x'.repeat(32), 'test'), createLogger('test', 'error'));
}

const markRead = (commandId: string | null): ForwardedCommand => ({ type: 'MarkRead', roomId: crypto.randomUUID(), upTo: 1, commandId });

describe('forwarding to an owner that never answers', () => {
  it('answers UNAVAILABLE for a command without an idempotency key, instead of sending it again', async () => {
    const outcome = await forwarder().forward(0, markRead(null), { credentials: {} }, Date.now() + 300);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(requests.length).toBe(1);
  });

  it('leaves a command with an idempotency key to be sent again', async () => {
    requests.length = 0;
    const outcome = await forwarder().forward(0, markRead('key-1'), { credentials: {} }, Date.now() + 300);
    expect(outcome).toBeUndefined(); // the handler's loop sends it again until its deadline
    expect(requests.length).toBe(1);
  });
});
