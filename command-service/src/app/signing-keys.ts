import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK, type JWTVerifyGetKey } from 'jose';
import { ACCESS_TOKEN, type AccessTokenSettings, type Logger } from '@chat/platform';

// The keys that sign access tokens: Ed25519, one signing at a time, shared by every instance
// through Postgres and kept across restarts. Rotation publishes a key before it signs: a new
// key enters the JWKS `publishLeadMs` before its first token, longer than any verifier
// caches the JWKS, so no verifier meets a kid it has never had the chance to fetch. An old
// key stays published until the last token it signed has expired.

export interface StoredKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  signsFrom: number;
}

export interface KeyStore {
  load(): Promise<StoredKey[]>;
  /** Under a lock shared by every instance: reads the keys, and stores the one `next` returns, if any. */
  addIfNeeded(next: (keys: StoredKey[]) => Promise<StoredKey | undefined>): Promise<void>;
}

export interface RotationPolicy {
  /** How long one key signs before the next takes over. */
  rotateAfterMs: number;
  /** How long a key is published before it signs: above any verifier's JWKS cache age. */
  publishLeadMs: number;
}

/** What the key set needs now: a first key signing at once, the next key announced, or nothing. */
export function keyNeeded(keys: readonly StoredKey[], now: number, policy: RotationPolicy): { signsFrom: number } | undefined {
  if (!keys.some((k) => k.signsFrom <= now)) return { signsFrom: now };
  const newest = Math.max(...keys.map((k) => k.signsFrom));
  if (newest > now) return undefined; // the next one is announced already
  if (now >= newest + policy.rotateAfterMs - policy.publishLeadMs) return { signsFrom: now + policy.publishLeadMs };
  return undefined;
}

/** The key that signs at `now`: the newest whose time has come. */
export function signingKeyAt(keys: readonly StoredKey[], now: number): StoredKey | undefined {
  return keys
    .filter((k) => k.signsFrom <= now)
    .reduce<StoredKey | undefined>((a, k) => (a && a.signsFrom >= k.signsFrom ? a : k), undefined);
}

/** Keys a verifier needs: the signing one, the announced ones, and older ones whose tokens may still be unexpired. */
export function publishedKeys(keys: readonly StoredKey[], now: number, tokenTtlMs: number): StoredKey[] {
  const current = signingKeyAt(keys, now);
  return keys.filter((k) => {
    if (!current || k.signsFrom >= current.signsFrom) return true;
    // Retired: published until every token it could have signed has expired.
    const successorFrom = Math.min(...keys.filter((o) => o.signsFrom > k.signsFrom).map((o) => o.signsFrom));
    return successorFrom + tokenTtlMs + ACCESS_TOKEN.clockToleranceSeconds * 1000 > now;
  });
}

export async function newKey(signsFrom: number): Promise<StoredKey> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = crypto.randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateJwk: { ...(await exportJWK(privateKey)), kid }, publicJwk, signsFrom };
}

export interface IssuedAccessToken {
  token: string;
  expiresAt: number;
}

export class KeyRing {
  private readonly store: KeyStore;
  private readonly policy: RotationPolicy;
  private readonly settings: AccessTokenSettings;
  private readonly log: Logger;
  private keys: StoredKey[] = [];
  private readonly imported = new Map<string, CryptoKey>();
  private local: JWTVerifyGetKey = createLocalJWKSet({ keys: [] });

  constructor(store: KeyStore, policy: RotationPolicy, settings: AccessTokenSettings, log: Logger) {
    this.store = store;
    this.policy = policy;
    this.settings = settings;
    this.log = log;
  }

  /** Adds a key when one is due (first start, or rotation) and reloads the set. Run at start and periodically. */
  async maintain(now = Date.now()): Promise<void> {
    if (keyNeeded(this.keys, now, this.policy)) {
      await this.store.addIfNeeded(async (keys) => {
        const needed = keyNeeded(keys, now, this.policy);
        if (!needed) return undefined;
        const key = await newKey(needed.signsFrom);
        this.log.info('new token signing key', { kid: key.kid, signsFrom: new Date(key.signsFrom).toISOString() });
        return key;
      });
    }
    this.keys = await this.store.load();
    this.local = createLocalJWKSet(this.jwks(now));
  }

  /** This instance's own verification keys: the published set as of the last maintain(). */
  readonly verificationKeys: JWTVerifyGetKey = (header, token) => this.local(header, token);

  /** The public keys as a JWKS document. */
  jwks(now = Date.now()): { keys: JWK[] } {
    return { keys: publishedKeys(this.keys, now, this.settings.ttlSeconds * 1000).map((k) => k.publicJwk) };
  }

  /** A signed access token for a user's session. */
  async issue(userId: string, sessionId: string, now = Date.now()): Promise<IssuedAccessToken> {
    const key = signingKeyAt(this.keys, now);
    if (!key) throw new Error('no signing key yet; maintain() first');
    let privateKey = this.imported.get(key.kid);
    if (!privateKey) {
      privateKey = (await importJWK(key.privateJwk, 'EdDSA')) as CryptoKey;
      this.imported.set(key.kid, privateKey);
    }
    const issuedAt = Math.floor(now / 1000);
    const expiresAt = issuedAt + this.settings.ttlSeconds;
    const token = await new SignJWT({ sid: sessionId })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: ACCESS_TOKEN.type })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setSubject(userId)
      .setJti(crypto.randomUUID())
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(privateKey);
    return { token, expiresAt: expiresAt * 1000 };
  }
}
