import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_TOKEN, AccessTokenVerifier, SessionRevocations, loadConfig } from '../src/index.ts';
import { removeAfterAll } from '../../test/src/leftovers.ts';

// The verifier remembers tokens it checked, so a client's repeated requests skip the signature
// check; what it remembers must still expire on time and still lose to a revoked session.

const settings = { issuer: 'urn:test:issuer', audience: 'urn:test:api' };
const prefix = `t_token_cache_${Date.now().toString(36)}:`;
removeAfterAll(prefix);
let redis: Redis;
let verifier: AccessTokenVerifier;
let revocations: SessionRevocations;
let sign: (claims: { sid: string; exp: number }) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
  redis = new Redis(loadConfig().redisUrl, { maxRetriesPerRequest: 1 });
  revocations = new SessionRevocations(redis, prefix);
  await revocations.rebuild([], 60); // a whole (empty) cache, as the command service leaves it
  verifier = new AccessTokenVerifier(createLocalJWKSet({ keys: [jwk] }), settings, revocations);
  sign = ({ sid, exp }) =>
    new SignJWT({ sid })
      .setProtectedHeader({ alg: 'EdDSA', typ: ACCESS_TOKEN.type, kid: 'k1' })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject('user-1')
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setNotBefore(Math.floor(Date.now() / 1000) - 60)
      .setExpirationTime(exp)
      .sign(privateKey);
});

afterAll(() => redis?.disconnect());

describe('access tokens checked before', () => {
  it('still expire on time', async () => {
    // Past its expiry but inside the clock tolerance: accepted, and remembered.
    const exp = Math.floor(Date.now() / 1000) - ACCESS_TOKEN.clockToleranceSeconds + 1;
    const token = await sign({ sid: crypto.randomUUID(), exp });
    expect(await verifier.verify(token)).toMatchObject({ userId: 'user-1' });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await verifier.verify(token)).toMatchObject({ refused: 'expired' });
  });

  it('lose to a session that ended after they were checked', async () => {
    const sid = crypto.randomUUID();
    const token = await sign({ sid, exp: Math.floor(Date.now() / 1000) + 600 });
    expect(await verifier.verify(token)).toMatchObject({ sessionId: sid });
    await revocations.revoke([sid], 60);
    expect(await verifier.verify(token)).toMatchObject({ refused: 'revoked' });
  });

  it('are only ever the exact token that was checked', async () => {
    const token = await sign({ sid: crypto.randomUUID(), exp: Math.floor(Date.now() / 1000) + 600 });
    expect(await verifier.verify(token)).toMatchObject({ userId: 'user-1' });
    const [header, payload, signature] = token.split('.');
    const forged = `${header}.${payload}.${signature!.slice(0, -2)}${signature!.endsWith('AA') ? 'BA' : 'AA'}`;
    expect(await verifier.verify(forged)).toMatchObject({ refused: 'invalid' });
  });
});
