import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { intFromEnv } from './config.ts';
import { servicePort } from './service.ts';
import type { SessionRevocations } from './session-revocations.ts';

export * from './session-revocations.ts';

// Access tokens, as every service checks them (RFC 8725): EdDSA only (never `none`, never an
// HMAC keyed with a public key), our issuer and audience, `typ` at+jwt, expiry and not-before
// with a small clock tolerance, and a session that has not been revoked. The command service
// signs them (its key ring); the others verify against its published JWKS.

export const ACCESS_TOKEN = {
  type: 'at+jwt',
  algorithms: ['EdDSA'],
  clockToleranceSeconds: 5,
} as const;

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Where the command service publishes its public keys. */
  jwksUrl: string;
}

/** Where the command service answers (any instance: it forwards commands to their owner). */
export function commandServiceUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.COMMAND_SERVICE_URL ?? `http://127.0.0.1:${servicePort('command-service', env)}`;
}

export function accessTokenSettings(env: NodeJS.ProcessEnv = process.env): AccessTokenSettings {
  const commandService = commandServiceUrl(env);
  return {
    // Not derived from one instance's port: every instance issues under the same name.
    issuer: env.TOKEN_ISSUER ?? 'urn:chat:command-service',
    audience: env.TOKEN_AUDIENCE ?? 'urn:chat:api',
    ttlSeconds: intFromEnv(env, 'ACCESS_TOKEN_TTL_SECONDS', 15 * 60),
    jwksUrl: env.JWKS_URL ?? `${commandService}${JWKS_PATH}`,
  };
}

export const JWKS_PATH = '/.well-known/jwks.json';

export interface Caller {
  userId: string;
  sessionId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Why a credential was refused; each maps to a client-facing code by the service. */
export interface Refusal {
  refused: 'missing' | 'invalid' | 'expired' | 'revoked';
  message: string;
}

export function isRefusal(value: Caller | Refusal): value is Refusal {
  return 'refused' in value;
}

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearerToken(authorization: string | null | undefined): string | null {
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization ?? '');
  return match ? match[1]! : null;
}

/** Tokens whose signature and claims were checked, for how long they stay valid: a client sends the same one for minutes. */
const VERIFIED_TOKENS_KEPT = 20_000;

interface VerifiedClaims {
  sub: string;
  sid: string;
  /** Epoch seconds. */
  exp: number;
  nbf: number;
}

export class AccessTokenVerifier {
  private readonly keys: JWTVerifyGetKey;
  private readonly settings: Pick<AccessTokenSettings, 'issuer' | 'audience'>;
  private readonly revocations: SessionRevocations;
  // An Ed25519 verification was a tenth of a command's CPU: a token seen before is not
  // verified again, only its times (here) and its session (Redis, on every request) are.
  private readonly verified = new LRUCache<string, VerifiedClaims>({ max: VERIFIED_TOKENS_KEPT });

  constructor(keys: JWTVerifyGetKey, settings: Pick<AccessTokenSettings, 'issuer' | 'audience'>, revocations: SessionRevocations) {
    this.keys = keys;
    this.settings = settings;
    this.revocations = revocations;
  }

  /**
   * The caller a token names, or why it is refused. Throws only when revocations cannot be
   * known: Redis unreachable, or its list lost and no durable record to ask (SessionRevocations).
   */
  async verify(token: string | null): Promise<Caller | Refusal> {
    if (!token) return { refused: 'missing', message: 'send Authorization: Bearer <access token>' };
    if (token.length > 4096) return { refused: 'invalid', message: 'the access token is not valid' };
    const claims = this.verified.get(token) ?? (await this.verifySigned(token));
    if ('refused' in claims) return claims;
    const now = Date.now() / 1000;
    const tolerance = ACCESS_TOKEN.clockToleranceSeconds;
    if (now >= claims.exp + tolerance) {
      this.verified.delete(token);
      return { refused: 'expired', message: 'the access token has expired; refresh it' };
    }
    if (now < claims.nbf - tolerance) return { refused: 'invalid', message: 'the access token is not valid' };
    if (await this.revocations.isRevoked(claims.sid)) return { refused: 'revoked', message: 'this session has ended; log in again' };
    return { userId: claims.sub, sessionId: claims.sid, expiresAt: claims.exp * 1000 };
  }

  /** Checks signature, algorithm, type, issuer, audience and times, and remembers a token that passes. */
  private async verifySigned(token: string): Promise<VerifiedClaims | Refusal> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: [...ACCESS_TOKEN.algorithms],
        typ: ACCESS_TOKEN.type,
        requiredClaims: ['sub', 'sid', 'exp', 'nbf', 'iat', 'jti'],
        clockTolerance: ACCESS_TOKEN.clockToleranceSeconds,
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { refused: 'expired', message: 'the access token has expired; refresh it' };
      if (error instanceof errors.JOSEError) return { refused: 'invalid', message: 'the access token is not valid' };
      throw error;
    }
    const { sub, sid, exp, nbf } = payload;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof exp !== 'number' || typeof nbf !== 'number') {
      return { refused: 'invalid', message: 'the access token is not valid' };
    }
    const claims = { sub, sid, exp, nbf };
    this.verified.set(token, claims);
    return claims;
  }
}
