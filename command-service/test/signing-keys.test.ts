import { describe, expect, it } from 'vitest';
import { keyNeeded, publishedKeys, signingKeyAt, type StoredKey } from '../src/app/signing-keys.ts';

const policy = { rotateAfterMs: 1000, publishLeadMs: 100 };
const key = (kid: string, signsFrom: number): StoredKey => ({ kid, signsFrom, privateJwk: {}, publicJwk: { kid } });

describe('signing key rotation', () => {
  it('starts with a key that signs at once', () => {
    expect(keyNeeded([], 50, policy)).toEqual({ signsFrom: 50 });
  });

  it('announces the next key one publish lead before it signs, and only once', () => {
    const first = [key('a', 0)];
    expect(keyNeeded(first, 899, policy)).toBeUndefined();
    expect(keyNeeded(first, 900, policy)).toEqual({ signsFrom: 1000 });
    const announced = [...first, key('b', 1000)];
    expect(keyNeeded(announced, 950, policy)).toBeUndefined();
    // Announced, not yet signing: the old key signs, both are published.
    expect(signingKeyAt(announced, 950)?.kid).toBe('a');
    expect(publishedKeys(announced, 950, 300).map((k) => k.kid)).toEqual(['a', 'b']);
    expect(signingKeyAt(announced, 1000)?.kid).toBe('b');
  });

  it('keeps a retired key published until its last token has expired', () => {
    const keys = [key('a', 0), key('b', 1000)];
    const ttl = 300;
    // Tolerance: 5 s of clock skew on top of the token lifetime.
    expect(publishedKeys(keys, 1000 + ttl + 4999, ttl).map((k) => k.kid)).toEqual(['a', 'b']);
    expect(publishedKeys(keys, 1000 + ttl + 5000, ttl).map((k) => k.kid)).toEqual(['b']);
  });
});
