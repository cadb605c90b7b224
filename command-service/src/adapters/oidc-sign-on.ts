import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import * as oidc from 'openid-client';
import { SIGN_ON_COOKIE, SIGN_ON_PATHS, signOnCookieValues, vouchedAddress, type Logger } from '@chat/platform';
import type { Accounts } from '../app/accounts.ts';
import type { CommandError } from '../domain/errors.ts';

// Single sign-on through any OpenID Connect provider: authorization code flow with PKCE,
// state and nonce (openid-client checks them, the ID token's signature, issuer and audience).
// Accounts are linked by the provider's issuer and subject, never by a name or an e-mail
// that the provider lets its users change.
//
//   GET /auth/oidc/config                           → {"enabled": true|false}, for the client's button
//   GET /auth/oidc/start[?return_to=<allowed URL>]  → redirect to the provider, sets the sign-on cookie
//   GET /auth/oidc/callback                         → the provider comes back here
//   GET /auth/oidc/complete?code=<sign-on code>     → the session, as JSON; clears the cookie
//
// The callback ends with a one-time sign-on code (60 s, single use), sent to return_to or
// shown as JSON; the client trades it for a session at /complete with a same-origin fetch, so
// tokens never travel in a URL.
//
// Every step is bound to the browser that started the flow (else an attacker's own code,
// opened in a victim's browser, would sign the victim into the attacker's account: login
// CSRF): start sets an HttpOnly cookie with a random value, and the flow and then the code are
// stored under its hash, so a callback or a code reaches its flow only with that cookie. A
// foreign attempt finds nothing and leaves the rightful browser's flow and code in place.

export { SIGN_ON_PATHS };
const FLOW_TTL_SECONDS = 600;
const CODE_TTL_SECONDS = 60;
/** A binding value as start makes it (32 random bytes, base64url); anything else is ignored. */
const BINDING = /^[A-Za-z0-9_-]{43}$/;
/** Sign-on cookies tried per request: a browser sends one, or a few if more paths set one. */
const MAX_BINDINGS = 4;

export interface SignOnSettings {
  issuer: URL;
  clientId: string;
  /** Absent for a public client: PKCE alone then protects the code. */
  clientSecret: string | undefined;
  redirectUri: string;
  scope: string;
  /** Origins that return_to may point at (the web client's), so the flow is no open redirect. */
  returnOrigins: string[];
}

/** Settings from OIDC_* variables; undefined (single sign-on off) without OIDC_ISSUER. */
export function signOnSettings(env: NodeJS.ProcessEnv, selfEndpoint: string): SignOnSettings | undefined {
  if (!env.OIDC_ISSUER) return undefined;
  if (!env.OIDC_CLIENT_ID) throw new Error('OIDC_ISSUER is set but OIDC_CLIENT_ID is not');
  return {
    issuer: new URL(env.OIDC_ISSUER),
    clientId: env.OIDC_CLIENT_ID,
    clientSecret: env.OIDC_CLIENT_SECRET || undefined,
    redirectUri: env.OIDC_REDIRECT_URI ?? `${selfEndpoint}${SIGN_ON_PATHS.callback}`,
    scope: env.OIDC_SCOPES ?? 'openid profile',
    returnOrigins: (env.OIDC_RETURN_ORIGINS ?? '').split(',').filter(Boolean),
  };
}

/**
 * Answers the sign-on paths, configured or not (`signOn` undefined): /config says which, so a
 * client shows its sign-on button only when it works; false for any other request.
 */
export function serveSignOn(signOn: OidcSignOn | undefined, req: IncomingMessage, res: ServerResponse): boolean {
  const path = req.url?.split('?')[0];
  if (path === SIGN_ON_PATHS.config) {
    json(res, 200, { enabled: signOn !== undefined });
    return true;
  }
  if (signOn) return signOn.handles(req, res);
  if (!Object.values<string | undefined>(SIGN_ON_PATHS).includes(path)) return false;
  json(res, 404, { error: 'NOT_FOUND', message: 'single sign-on is not configured here' });
  return true;
}

interface Flow {
  verifier: string;
  nonce: string;
  returnTo: string | null;
}

export class OidcSignOn {
  private readonly settings: SignOnSettings;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly accounts: Accounts;
  private readonly log: Logger;
  /** Anonymous flow starts per client address: each stores a flow in Redis for 10 minutes. */
  private readonly startLimit: (address: string) => Promise<CommandError | undefined>;
  private discovered: Promise<oidc.Configuration> | undefined;

  constructor(
    settings: SignOnSettings,
    redis: Redis,
    prefix: string,
    accounts: Accounts,
    log: Logger,
    startLimit: (address: string) => Promise<CommandError | undefined>,
  ) {
    this.settings = settings;
    this.redis = redis;
    this.prefix = prefix;
    this.accounts = accounts;
    this.log = log;
    this.startLimit = startLimit;
  }

  /** Handles the sign-on paths but /config; false for any other request. */
  handles(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname === SIGN_ON_PATHS.start) void this.guard(res, () => this.limitedStart(req, url, res));
    else if (url.pathname === SIGN_ON_PATHS.callback) void this.guard(res, () => this.callback(req, url, res));
    else if (url.pathname === SIGN_ON_PATHS.complete) void this.guard(res, () => this.complete(req, url, res));
    else return false;
    return true;
  }

  /**
   * Trades a one-time sign-on code for a session, in the browser whose cookie it is bound to.
   * GET only: a HEAD would use the code up and open a session nobody receives.
   */
  private async complete(req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') return json(res, 405, { error: 'INVALID_INPUT', message: 'use GET' }, { allow: 'GET' });
    const code = url.searchParams.get('code') ?? '';
    const userId = await this.redeem(code, bindingsOf(req));
    if (!userId)
      return json(res, 400, {
        error: 'SIGN_ON_FAILED',
        message: 'this sign-on code is unknown, used or expired, or this browser did not start its sign-on; sign on again',
      });
    const session = await this.accounts.sessionFor(userId);
    if ('code' in session) return json(res, 400, { error: 'SIGN_ON_FAILED', message: session.message });
    // Done: the binding has nothing left to protect.
    json(
      res,
      200,
      {
        userId: session.userId,
        username: session.username,
        accessToken: session.accessToken,
        accessTokenExpiresAt: new Date(session.accessTokenExpiresAt).toISOString(),
        refreshToken: session.refreshToken,
        refreshTokenExpiresAt: new Date(session.refreshTokenExpiresAt).toISOString(),
      },
      { 'set-cookie': this.cookie('', 0) },
    );
  }

  /** The account a code stands for, used up; undefined when unknown, used, expired or bound to another browser. */
  private async redeem(code: string, bindings: string[]): Promise<string | undefined> {
    if (!code || code.length > 100) return undefined;
    for (const binding of bindings) {
      const userId = await this.redis.getdel(this.key('code', `${hash(code)}:${binding}`));
      if (userId) return userId;
    }
    return undefined;
  }

  /** A start, unless its address has started too many flows lately (429 with Retry-After). */
  private async limitedStart(req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    const limited = await this.startLimit(vouchedAddress(req));
    if (limited) {
      res.setHeader('retry-after', String(limited.retryAfterSeconds ?? 60));
      return json(res, 429, { error: 'RATE_LIMITED', message: limited.message, retryAfterSeconds: limited.retryAfterSeconds });
    }
    return this.start(url, res);
  }

  private async start(url: URL, res: ServerResponse): Promise<void> {
    const returnTo = url.searchParams.get('return_to');
    if (returnTo !== null && !this.allowedReturn(returnTo))
      return json(res, 400, { error: 'INVALID_INPUT', message: 'return_to is not allowed' });
    const config = await this.configuration();
    const flow: Flow = { verifier: oidc.randomPKCECodeVerifier(), nonce: oidc.randomNonce(), returnTo };
    const state = oidc.randomState();
    // A new binding per start: a browser that starts again abandons its earlier flow.
    const binding = randomBytes(32).toString('base64url');
    await this.redis.set(this.key('flow', `${state}:${hash(binding)}`), JSON.stringify(flow), 'EX', FLOW_TTL_SECONDS);
    const target = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state,
      nonce: flow.nonce,
    });
    res.writeHead(302, { location: target.href, 'cache-control': 'no-store', 'set-cookie': this.cookie(binding, FLOW_TTL_SECONDS) }).end();
  }

  private async callback(req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    const state = url.searchParams.get('state') ?? '';
    const bindings = bindingsOf(req);
    if (bindings.length === 0)
      return json(res, 400, {
        error: 'SIGN_ON_FAILED',
        message: 'this browser did not start this sign-on (no sign-on cookie); start again',
      });
    const found = state.length <= 100 ? await this.takeFlow(state, bindings) : undefined;
    if (!found)
      return json(res, 400, {
        error: 'SIGN_ON_FAILED',
        message: 'unknown or expired sign-on, or one this browser did not start; start again',
      });
    const { flow, binding } = found;
    const config = await this.configuration();
    // The callback URL as the provider built it: our redirect URI plus its parameters.
    const current = new URL(this.settings.redirectUri);
    current.search = url.search;
    let claims: oidc.IDToken | undefined;
    let profile: Record<string, unknown>;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: flow.verifier,
        expectedState: state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
      profile = { ...claims };
      // Many providers put profile claims (preferred_username, name) in userinfo only.
      if (claims && config.serverMetadata().userinfo_endpoint) {
        profile = { ...profile, ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)) };
      }
    } catch (error) {
      this.log.warn('sign-on refused', { error });
      return json(res, 400, { error: 'SIGN_ON_FAILED', message: 'the identity provider did not confirm the sign-on' });
    }
    if (!claims) return json(res, 400, { error: 'SIGN_ON_FAILED', message: 'the identity provider sent no ID token' });
    const userId = await this.accounts.signOn({
      // Identity is the ID token's issuer and subject; userinfo only suggests names.
      issuer: claims.iss,
      subject: claims.sub,
      username: typeof profile.preferred_username === 'string' ? profile.preferred_username : null,
      displayName: typeof profile.name === 'string' ? profile.name : null,
    });
    const code = randomBytes(32).toString('base64url');
    // Bound like the flow: only the browser that holds the cookie can redeem it.
    await this.redis.set(this.key('code', `${hash(code)}:${binding}`), userId, 'EX', CODE_TTL_SECONDS);
    if (flow.returnTo) {
      const back = new URL(flow.returnTo);
      back.searchParams.set('sign_on_code', code);
      res.writeHead(303, { location: back.href, 'cache-control': 'no-store' }).end();
      return;
    }
    json(res, 200, {
      signOnCode: code,
      expiresInSeconds: CODE_TTL_SECONDS,
      next: `trade it for a session from this same browser (it holds the sign-on cookie): GET ${SIGN_ON_PATHS.complete}?code=<signOnCode>`,
    });
  }

  /** The flow of `state` that one of this browser's bindings started, used up (single use); undefined if none. */
  private async takeFlow(state: string, bindings: string[]): Promise<{ flow: Flow; binding: string } | undefined> {
    for (const binding of bindings) {
      const stored = await this.redis.getdel(this.key('flow', `${state}:${binding}`));
      if (stored) return { flow: JSON.parse(stored) as Flow, binding };
    }
    return undefined;
  }

  /**
   * The sign-on cookie: HttpOnly (no script reads it), SameSite=Lax (sent on the provider's
   * top-level redirect back to the callback, never on cross-site subrequests), only under
   * /auth, Secure wherever the public origin (the callback's) is https.
   */
  private cookie(value: string, maxAgeSeconds: number): string {
    const secure = new URL(this.settings.redirectUri).protocol === 'https:' ? '; Secure' : '';
    return `${SIGN_ON_COOKIE}=${value}; Path=/auth; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`;
  }

  private configuration(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret } = this.settings;
    // Plain http only for a provider on this machine (development and tests).
    const local = issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
    this.discovered ??= oidc
      .discovery(issuer, clientId, undefined, clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(), {
        ...(local ? { execute: [oidc.allowInsecureRequests] } : {}),
        timeout: 10,
      })
      .catch((error: unknown) => {
        this.discovered = undefined; // try again next time
        throw error;
      });
    return this.discovered;
  }

  private allowedReturn(returnTo: string): boolean {
    try {
      return this.settings.returnOrigins.includes(new URL(returnTo).origin);
    } catch {
      return false;
    }
  }

  private async guard(res: ServerResponse, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log.error('sign-on failed', { error });
      if (!res.headersSent) json(res, 503, { error: 'UNAVAILABLE', message: 'single sign-on is unavailable right now' });
    }
  }

  private key(kind: 'flow' | 'code', id: string): string {
    return `${this.prefix}sign-on:${kind}:${id}`;
  }
}

/** The hashes of the well-formed sign-on cookies a request carries: what flows and codes are stored under. */
function bindingsOf(req: IncomingMessage): string[] {
  return signOnCookieValues(req.headers.cookie)
    .filter((value) => BINDING.test(value))
    .slice(0, MAX_BINDINGS)
    .map(hash);
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
