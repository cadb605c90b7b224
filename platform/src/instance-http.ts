import { request as httpRequest, type Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readBody } from './http.ts';
import { INSTANCE_HEADERS, isInstanceRefusal, type InstanceAuth, type VerifiedInstance } from './instance-auth.ts';

// Instance authentication over HTTP: the caller's side (a fetch that signs) and the receiver's
// (read the body within a bound, check the signature, or answer 401 before anything runs).

type Fetch = (url: URL, init: RequestInit) => Promise<Response>;

/**
 * fetch(), signed as this instance. A client address to vouch for travels in the
 * x-chat-client-address header of `init` (signed with the rest). `fetchImpl` sends it (the
 * platform's by default; a caller on a hot path may pass a faster one).
 */
export function signedFetch(auth: InstanceAuth, url: string, init: RequestInit = {}, fetchImpl: Fetch = fetch): Promise<Response> {
  const target = new URL(url);
  const headers = new Headers(init.headers);
  const clientAddress = headers.get(INSTANCE_HEADERS.clientAddress) ?? undefined;
  const body = typeof init.body === 'string' || init.body instanceof Uint8Array ? init.body : undefined;
  if (init.body != null && body === undefined) throw new Error('signedFetch signs string or byte bodies only');
  const signature = auth.sign({ method: init.method ?? 'GET', path: `${target.pathname}${target.search}`, body, clientAddress });
  for (const [name, value] of Object.entries(signature)) headers.set(name, value);
  return fetchImpl(target, { ...init, headers });
}

export type InstanceCall = { ok: true; caller: VerifiedInstance; body: Buffer } | { ok: false; status: number; message: string };

/** Reads `req`'s body (at most `maxBytes`) and checks that an instance signed the request. */
export async function readInstanceCall(auth: InstanceAuth, req: IncomingMessage, maxBytes: number): Promise<InstanceCall> {
  // An unsigned or stale request is refused before its body is read.
  const early = auth.precheck(req.headers);
  if (early) {
    req.resume();
    return { ok: false, status: 401, message: early.refused };
  }
  const body = await readBody(req, maxBytes);
  if (!body) return { ok: false, status: 413, message: 'request body too large' };
  const verdict = auth.verify({ method: req.method ?? 'GET', path: req.url ?? '/', body }, req.headers);
  if (isInstanceRefusal(verdict)) return { ok: false, status: 401, message: verdict.refused };
  return { ok: true, caller: verdict, body };
}

/** The answer to a call that is not an authenticated instance's: no detail beyond the reason. */
export function refuseInstanceCall(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: status === 413 ? 'TOO_LARGE' : 'UNAUTHENTICATED_INSTANCE', message }));
}

/**
 * The end user's address a call vouches for (x-chat-client-address, which the signature
 * covers), else the socket's peer. Only for a request readInstanceCall has accepted.
 */
export function vouchedAddress(req: IncomingMessage): string {
  const vouched = req.headers[INSTANCE_HEADERS.clientAddress];
  return (typeof vouched === 'string' && vouched) || req.socket.remoteAddress || 'unknown';
}

/** What signedPost sends besides its body: the end user's address it vouches for, and headers of its own. */
export interface SignedPost {
  clientAddress?: string;
  headers?: Record<string, string>;
  timeoutMs: number;
}

/**
 * A POST of `body` to `url`, signed as this instance, straight on node:http(s) over `agent`'s
 * kept-alive connections: resolves with the status and the answer's text, rejects when the
 * peer cannot be reached or takes longer than `timeoutMs`. For a hot path: no Request,
 * Response or stream pipeline per call, which fetch() (undici's or @whatwg-node's) makes.
 */
export function signedPost(
  auth: InstanceAuth,
  agent: Agent,
  url: URL,
  body: string,
  options: SignedPost,
): Promise<{ status: number; text: string }> {
  const signature = auth.sign({ method: 'POST', path: `${url.pathname}${url.search}`, body, clientAddress: options.clientAddress });
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        agent,
        timeout: options.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...options.headers,
          ...signature,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The end user a signed GraphQL operation is run for, carried in the operation's extensions
 * (`chatCaller`) rather than in headers, so that one signed request can carry the operations of
 * many callers (a batch). Only an instance's signed request is read this way: whatever a client
 * sends never reaches another service's extensions (the one endpoint builds each operation anew).
 */
export interface OperationCaller {
  /** The caller's Authorization header, as they sent it; absent when they sent none. */
  authorization?: string;
  /** Their address, as the signing instance saw it. */
  clientAddress: string;
}

export const OPERATION_CALLER_EXTENSION = 'chatCaller';

/** The most operations one signed request to a GraphQL service may carry as a batch. */
export const OPERATIONS_PER_BATCH = 32;

/** The caller an operation's extensions name (see OperationCaller), or undefined when they name none or not in that shape. */
export function operationCaller(extensions: unknown): OperationCaller | undefined {
  const value = (extensions as Record<string, unknown> | undefined)?.[OPERATION_CALLER_EXTENSION] as Record<string, unknown> | undefined;
  if (typeof value !== 'object' || value === null || typeof value.clientAddress !== 'string') return undefined;
  if (value.authorization !== undefined && typeof value.authorization !== 'string') return undefined;
  return { clientAddress: value.clientAddress, ...(typeof value.authorization === 'string' ? { authorization: value.authorization } : {}) };
}
