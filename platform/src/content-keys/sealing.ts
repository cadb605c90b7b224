import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

// The AEAD every sealed piece of content uses: AES-256-GCM from Node's crypto, a fresh 96-bit
// IV per seal, and associated data naming what the bytes belong to, so a ciphertext moved to
// another event (or a wrapped key to another row) fails to open instead of reading as it.
//
// Format: [version 1][12-byte IV][ciphertext][16-byte tag].

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/** Content that must not be read as it is: a wrong or corrupted key, ciphertext or associated data. */
export class ContentIntegrityError extends Error {
  override name = 'ContentIntegrityError';
}

export function seal(key: Buffer, plaintext: Buffer, associatedData: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, body, cipher.getAuthTag()]);
}

export function open(key: Buffer, sealed: Buffer, associatedData: string): Buffer {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
    throw new ContentIntegrityError(`sealed bytes of ${associatedData} are not of format ${VERSION}`);
  }
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new ContentIntegrityError(`sealed bytes of ${associatedData} fail their integrity check: a wrong key, or altered bytes`);
  }
}

/**
 * A message's content key: both the data key (author, room, day) and the message's own share
 * are needed, so destroying either erases the message: the share for one message, the data
 * key for everything of one author in one room on one day.
 */
export function contentKey(dataKey: Buffer, share: Buffer, subjectId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, share, `chat content key ${subjectId}`, KEY_BYTES));
}

export function newKeyMaterial(): Buffer {
  return randomBytes(KEY_BYTES);
}
