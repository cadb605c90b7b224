import { describe, expect, it } from 'vitest';
import {
  ContentIntegrityError,
  LocalKeyProvider,
  contentKey,
  newKeyMaterial,
  newMasterKeyEntry,
  open,
  parseMasterKeys,
  seal,
} from '../src/index.ts';

// The AEAD and the master keys of crypto-shredding, without a store: content opens only with
// the key and the associated data it was sealed with, and anything else is an integrity fault,
// never other text.

const text = Buffer.from('{"body":"meet at 6 🕕"}');

describe('sealing', () => {
  it('opens what it sealed, and a fresh IV makes each sealing differ', () => {
    const key = newKeyMaterial();
    const [a, b] = [seal(key, text, 'MessageSent/e1/m1'), seal(key, text, 'MessageSent/e1/m1')];
    expect(a.equals(b)).toBe(false);
    expect(a.includes(Buffer.from('meet'))).toBe(false);
    expect(open(key, a, 'MessageSent/e1/m1').equals(text)).toBe(true);
  });

  it('refuses a wrong key, other associated data, an altered byte or a truncated record as integrity faults', () => {
    const key = newKeyMaterial();
    const sealed = seal(key, text, 'MessageSent/e1/m1');
    expect(() => open(newKeyMaterial(), sealed, 'MessageSent/e1/m1')).toThrow(ContentIntegrityError);
    expect(() => open(key, sealed, 'MessageSent/e2/m1')).toThrow(ContentIntegrityError);
    const altered = Buffer.from(sealed);
    altered[20] = altered[20]! ^ 1;
    expect(() => open(key, altered, 'MessageSent/e1/m1')).toThrow(ContentIntegrityError);
    expect(() => open(key, sealed.subarray(0, 20), 'MessageSent/e1/m1')).toThrow(ContentIntegrityError);
    const otherVersion = Buffer.from(sealed);
    otherVersion[0] = 2;
    expect(() => open(key, otherVersion, 'MessageSent/e1/m1')).toThrow(/format 1/);
  });

  it('derives a content key that needs both the data key and the share, per message', () => {
    const [dataKey, share] = [newKeyMaterial(), newKeyMaterial()];
    const key = contentKey(dataKey, share, 'm1');
    expect(key).toHaveLength(32);
    expect(contentKey(dataKey, share, 'm1').equals(key)).toBe(true);
    expect(contentKey(dataKey, newKeyMaterial(), 'm1').equals(key)).toBe(false);
    expect(contentKey(newKeyMaterial(), share, 'm1').equals(key)).toBe(false);
    expect(contentKey(dataKey, share, 'm2').equals(key)).toBe(false);
  });
});

describe('master keys', () => {
  it('takes id:base64 entries, the first current, and says what is wrong without showing a key', () => {
    const [k1, k2] = [newMasterKeyEntry('k1'), newMasterKeyEntry('k2')];
    expect([...parseMasterKeys(`${k2}, ${k1}`).keys()]).toEqual(['k2', 'k1']);
    const short = `k1:${Buffer.alloc(16, 7).toString('base64')}`;
    for (const [spec, problem] of [
      ['', /at least one/],
      [short, /must be 32 bytes/],
      [`${k1},${k1}`, /given twice/],
      [`bad id:${k1.split(':')[1]}`, /id:base64/],
      [k1.split(':')[1]!, /id:base64/],
    ] as const) {
      let message = '';
      try {
        parseMasterKeys(spec);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(problem);
      expect(message).not.toContain(k1.split(':')[1]!.slice(0, 12));
    }
  });

  it('wraps with the current key, unwraps with any it holds, and refuses a key it does not hold', async () => {
    const [k1, k2] = [newMasterKeyEntry('k1'), newMasterKeyEntry('k2')];
    const dataKey = newKeyMaterial();
    const old = await new LocalKeyProvider(k1).wrap(dataKey, 'd1');
    expect(old.masterKeyId).toBe('k1');
    const both = new LocalKeyProvider(`${k2},${k1}`);
    expect((await both.unwrap('k1', old.wrapped, 'd1')).equals(dataKey)).toBe(true);
    expect((await both.wrap(dataKey, 'd1')).masterKeyId).toBe('k2');
    await expect(new LocalKeyProvider(k2).unwrap('k1', old.wrapped, 'd1')).rejects.toThrow(ContentIntegrityError);
    // The same id with other key material (a wrong CONTENT_MASTER_KEYS): a fault, not garbage.
    await expect(new LocalKeyProvider(newMasterKeyEntry('k1')).unwrap('k1', old.wrapped, 'd1')).rejects.toThrow(ContentIntegrityError);
    // A wrapped key moved to another row does not open there.
    await expect(both.unwrap('k1', old.wrapped, 'd2')).rejects.toThrow(ContentIntegrityError);
  });
});
