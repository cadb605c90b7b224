import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';

// Issue 18, attack 11 (sockets): 100 graphql-ws sockets without credentials were acknowledged
// and still served 10 s later, with no cap per address. A socket must now authenticate within
// WS_AUTH_TIMEOUT_MS (5 s) of opening, by a token in connection_init or in an operation's
// headers as GraphiQL sends them, or it is closed with 4401; and one address may hold at most
// WS_SOCKETS_PER_ADDRESS sockets (200), the upgrade past that answered 429. Each client here
// comes from its own loopback address, so the counts are theirs alone.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('held-sockets');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

/** A graphql-ws socket from `localAddress`, acknowledged after a connection_init with `payload`. */
function acknowledged(url: string, localAddress: string, payload: Record<string, unknown> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { localAddress });
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') resolve(socket);
    });
    socket.once('error', reject);
    socket.once('close', (code) => reject(new Error(`closed with ${code} before the ack`)));
  });
}

const closing = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason), at: Date.now() })),
  );

describe('sockets that hold on', () => {
  it('closes a hundred sockets that never authenticate after the deadline, and keeps one that authenticated per operation', async () => {
    const opened = Date.now();
    const strangers = await Promise.all(Array.from({ length: 100 }, () => acknowledged(stack.queryWsUrl, '127.0.0.2')));
    const closed = strangers.map(closing);
    // One of them asks something anonymously on the way: that does not authenticate it.
    strangers[0]!.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } }));

    // GraphiQL's way: no token at connection_init, the token in the operation's headers.
    const token = (await signUp(stack.commandUrl, 'graphiql')).accessToken;
    const playground = await acknowledged(stack.queryWsUrl, '127.0.0.3');
    playground.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: '{ me { username } }', extensions: { headers: { Authorization: `Bearer ${token}` } } },
      }),
    );

    const results = await Promise.all(closed);
    for (const { code, reason, at } of results) {
      expect(code).toBe(4401);
      expect(reason).toMatch(/^Unauthorized: authenticate within 5000 ms/);
      expect(at - opened).toBeLessThan(5000 + 3000); // the deadline, plus slack for a busy machine
    }
    expect(playground.readyState).toBe(WebSocket.OPEN);
    playground.close();
  }, 30_000);

  it('refuses the upgrade past WS_SOCKETS_PER_ADDRESS from one address with 429, and frees a place when one closes', async () => {
    const capped = await stack.startExtra('query-service', { WS_SOCKETS_PER_ADDRESS: '5' });
    const url = capped.url.replace('http', 'ws');
    const token = (await signUp(stack.commandUrl, 'crowd')).accessToken;
    const auth = { authorization: `Bearer ${token}` };
    try {
      const five = await Promise.all(Array.from({ length: 5 }, () => acknowledged(url, '127.0.0.4', auth)));
      const refusal = await new Promise<number>((resolve, reject) => {
        const sixth = new WebSocket(url, 'graphql-transport-ws', { localAddress: '127.0.0.4' });
        sixth.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        sixth.once('open', () => reject(new Error('the sixth socket was accepted')));
        sixth.once('error', () => undefined);
      });
      expect(refusal).toBe(429);
      // Another address is not held back by it.
      const elsewhere = await acknowledged(url, '127.0.0.5', auth);
      // A place is freed when a socket closes.
      const gone = closing(five[0]!);
      five[0]!.close();
      await gone;
      await expect
        .poll(() => acknowledged(url, '127.0.0.4', auth).then((s) => (s.close(), 'accepted')), { timeout: 5000 })
        .toBe('accepted');
      for (const socket of [...five, elsewhere]) socket.close();
    } finally {
      await capped.stop();
    }
  });
});
