import { createHash, createHmac, createSecretKey, randomBytes, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';

// Calls between our own instances (the one endpoint passing a mutation or a sign-on step to the
// command service, a command service forwarding a command to the owner of its room) are signed
// with a secret every instance shares, so that a user's token alone never reaches an internal
// route: whoever can reach the port without the secret is refused before anything runs.
//
// A request is signed over its method, path (query included), a timestamp, a one-time nonce,
// the calling instance's name, the client address it vouches for, and the SHA-256 of its body.
// The receiver refuses a signature older or newer than WINDOW_MS (clocks of one deployment
// agree within seconds) and a nonce it has seen within the window (a captured request cannot be
// played again). HMAC-SHA256 from Node's crypto: a few microseconds a request.

export const INSTANCE_HEADERS = {
  instance: 'x-chat-instance',
  timestamp: 'x-chat-timestamp',
  nonce: 'x-chat-nonce',
  signature: 'x-chat-signature',
  /** The end user's address as the signing instance saw it: per-address limits count it. */
  clientAddress: 'x-chat-client-address',
} as const;

const WINDOW_MS = 30_000;
/** Long enough to resist guessing; the secret is random bytes, given as hex or base64 text. */
export const MIN_SECRET_LENGTH = 32;

export interface SignedRequest {
  method: string;
  /** Path and query exactly as the receiver will see them in its request line. */
  path: string;
  body?: string | Uint8Array;
  /** The end user's address, when the call is made on a user's behalf. */
  clientAddress?: string;
}

export interface VerifiedInstance {
  instance: string;
  clientAddress: string | undefined;
}

export type InstanceRefusal = { refused: string };

type HeaderSource = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

export class InstanceAuth {
  // A key object, made once: an HMAC keyed by it costs about 2 µs, by raw bytes about 11 µs.
  private readonly secret: KeyObject;
  private readonly name: string;
  // Nonces seen within the window; bounded so a flood of valid requests cannot grow it forever.
  private readonly seen = new LRUCache<string, true>({ max: 200_000, ttl: 2 * WINDOW_MS });

  constructor(secret: string, name: string) {
    if (secret.length < MIN_SECRET_LENGTH) throw new Error(`the internal secret must be at least ${MIN_SECRET_LENGTH} characters`);
    this.secret = createSecretKey(Buffer.from(secret, 'utf8'));
    this.name = name;
  }

  /** The headers that make `request` an authenticated call from this instance. */
  sign(request: SignedRequest, now = Date.now()): Record<string, string> {
    const headers: Record<string, string> = {
      [INSTANCE_HEADERS.instance]: this.name,
      [INSTANCE_HEADERS.timestamp]: String(now),
      // randomUUID draws from a cached pool of entropy: far cheaper per call than randomBytes.
      [INSTANCE_HEADERS.nonce]: randomUUID(),
    };
    if (request.clientAddress !== undefined) headers[INSTANCE_HEADERS.clientAddress] = request.clientAddress;
    headers[INSTANCE_HEADERS.signature] = this.mac(request, headers);
    return headers;
  }

  /**
   * Why a request cannot be an instance's, judged from its headers alone (no signature, a stale
   * or future timestamp), so that a receiver refuses it before reading its body; undefined when
   * only the full check can tell.
   */
  precheck(headers: HeaderSource, now = Date.now()): InstanceRefusal | undefined {
    const get = (name: string) => headerOf(headers, name);
    const timestamp = get(INSTANCE_HEADERS.timestamp);
    if (!get(INSTANCE_HEADERS.instance) || !timestamp || !get(INSTANCE_HEADERS.nonce) || !get(INSTANCE_HEADERS.signature)) {
      return { refused: 'not signed by an instance' };
    }
    if (!/^\d{1,15}$/.test(timestamp) || Math.abs(now - Number(timestamp)) > WINDOW_MS) {
      return { refused: 'signature out of its time window' };
    }
    return undefined;
  }

  /** Who signed the request, or why it is refused. Call once per request: a nonce is spent here. */
  verify(request: Omit<SignedRequest, 'clientAddress'>, headers: HeaderSource, now = Date.now()): VerifiedInstance | InstanceRefusal {
    const early = this.precheck(headers, now);
    if (early) return early;
    const get = (name: string) => headerOf(headers, name) ?? '';
    const instance = get(INSTANCE_HEADERS.instance);
    const timestamp = get(INSTANCE_HEADERS.timestamp);
    const nonce = get(INSTANCE_HEADERS.nonce);
    const signature = get(INSTANCE_HEADERS.signature);
    const clientAddress = headerOf(headers, INSTANCE_HEADERS.clientAddress) ?? undefined;
    const signed = {
      [INSTANCE_HEADERS.instance]: instance,
      [INSTANCE_HEADERS.timestamp]: timestamp,
      [INSTANCE_HEADERS.nonce]: nonce,
      ...(clientAddress === undefined ? {} : { [INSTANCE_HEADERS.clientAddress]: clientAddress }),
    };
    const expected = Buffer.from(this.mac({ ...request, clientAddress }, signed));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { refused: 'bad instance signature' };
    if (this.seen.has(nonce)) return { refused: 'request replayed' };
    this.seen.set(nonce, true);
    return { instance, clientAddress };
  }

  private mac(request: SignedRequest, headers: Record<string, string>): string {
    const bodyHash = createHash('sha256')
      .update(request.body ?? '')
      .digest('base64url');
    // Newline-separated: none of the parts can hold a newline (header values and request lines cannot).
    const text = [
      request.method.toUpperCase(),
      request.path,
      headers[INSTANCE_HEADERS.instance],
      headers[INSTANCE_HEADERS.timestamp],
      headers[INSTANCE_HEADERS.nonce],
      headers[INSTANCE_HEADERS.clientAddress] ?? '',
      bodyHash,
    ].join('\n');
    return createHmac('sha256', this.secret).update(text).digest('base64url');
  }
}

export function isInstanceRefusal(value: VerifiedInstance | InstanceRefusal): value is InstanceRefusal {
  return 'refused' in value;
}

/**
 * The shared secret: INTERNAL_SECRET, or the contents of the file INTERNAL_SECRET_FILE names
 * (how container secrets arrive). Undefined when neither is set.
 */
export function internalSecret(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.INTERNAL_SECRET) return env.INTERNAL_SECRET;
  if (env.INTERNAL_SECRET_FILE) return readFileSync(env.INTERNAL_SECRET_FILE, 'utf8').trim();
  return undefined;
}

/** A fresh random secret, for a deployment that starts every instance itself (`./chat up`, tests). */
export function newInternalSecret(): string {
  return randomBytes(32).toString('base64url');
}

function headerOf(headers: HeaderSource, name: string): string | null {
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name);
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return typeof value === 'string' ? value : null;
}
