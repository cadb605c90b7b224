import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Instance, type Stack } from '@chat/infra';

// Issue 18, attack 11 (HTTP): a connection sending one header line every few seconds, and a
// POST trickling 5 bytes at a time, were still open after 20 s (Node's defaults give the
// headers 60 s and the request 300 s), with no cap on connections. The public listener now
// has deadlines for the headers (HTTP_HEADERS_TIMEOUT_MS, 10 s) and the whole request
// (HTTP_REQUEST_TIMEOUT_MS, 30 s), and a connection cap (HTTP_MAX_CONNECTIONS). This instance
// has them short, so the test need not wait the defaults out.

const HEADERS_MS = 2000;
const REQUEST_MS = 4000;
/** For a busy machine: Node checks the deadlines once a second. */
const SLACK_MS = 2500;

let stack: Stack;
let strict: Instance;
let frugal: Instance;

beforeAll(async () => {
  stack = await startStack('slow-clients');
  strict = await stack.startExtra('query-service', {
    HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
    HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
    HTTP_MAX_CONNECTIONS: '20',
  });
  frugal = await stack.startExtra('query-service', { HTTP_CONNECTIONS_PER_ADDRESS: '5' });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

interface Dribble {
  socket: Socket;
  /** When the server closed it, and what it answered first. */
  ended: Promise<{ afterMs: number; answer: string }>;
}

/** A connection (to `to`, from `from`) that sends `first`, then `piece` every `everyMs` until the server closes it. */
function dribble(first: string, piece: string, everyMs: number, to = strict, from = '127.0.0.1'): Dribble {
  const started = Date.now();
  const socket = connect({ port: to.port, host: '127.0.0.1', localAddress: from });
  let answer = '';
  socket.on('data', (data) => (answer += String(data)));
  socket.once('connect', () => socket.write(first));
  const timer = setInterval(() => socket.writable && socket.write(piece), everyMs);
  const ended = new Promise<{ afterMs: number; answer: string }>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ afterMs: Date.now() - started, answer });
    }),
  );
  socket.on('error', () => undefined);
  return { socket, ended };
}

describe('slow clients', () => {
  it('cuts a connection whose headers come one line at a time at the headers deadline', async () => {
    const slow = dribble('POST /graphql HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 500);
    const { afterMs, answer } = await slow.ended;
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(afterMs).toBeGreaterThanOrEqual(HEADERS_MS - 100);
    expect(afterMs).toBeLessThan(HEADERS_MS + SLACK_MS);
  });

  it('cuts a POST whose body trickles in 5 bytes at a time at the request deadline', async () => {
    const headers = 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n';
    const trickle = dribble(headers, '{"q":', 300);
    const { afterMs, answer } = await trickle.ended;
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(afterMs).toBeGreaterThanOrEqual(REQUEST_MS - 100);
    expect(afterMs).toBeLessThan(REQUEST_MS + SLACK_MS);
  });

  it('closes connections past HTTP_MAX_CONNECTIONS as they come, and serves again once they are gone', async () => {
    const held = Array.from({ length: 20 }, () => dribble('', '', 60_000));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const extra = dribble('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', '', 60_000);
    const { answer, afterMs } = await extra.ended;
    expect(answer).toBe(''); // closed unanswered
    expect(afterMs).toBeLessThan(HEADERS_MS); // at once, not by a deadline
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map((h) => h.ended));
    await expect.poll(async () => (await fetch(`${strict.baseUrl}/healthz`)).status).toBe(200);
  });

  it('closes connections past HTTP_CONNECTIONS_PER_ADDRESS from one address as they come, and serves another address', async () => {
    const held = Array.from({ length: 5 }, () => dribble('', '', 60_000, frugal));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sixth = dribble('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', '', 60_000, frugal);
    const { answer, afterMs } = await sixth.ended;
    expect(answer).toBe(''); // closed unanswered
    expect(afterMs).toBeLessThan(HEADERS_MS); // at once, not by a deadline
    // Another client, at another address, is served meanwhile.
    const neighbour = dribble('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '', 60_000, frugal, '127.0.0.2');
    expect((await neighbour.ended).answer).toMatch(/^HTTP\/1.1 200/);
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map((h) => h.ended));
    await expect.poll(async () => (await fetch(`${frugal.baseUrl}/healthz`)).status).toBe(200);
  });
});
