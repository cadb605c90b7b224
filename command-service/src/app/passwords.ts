import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

// Password hashing with argon2id, OWASP's first choice, using Node's own implementation (no
// native add-on to build). Parameters are OWASP's Password Storage Cheat Sheet minimum for
// argon2id: 19 MiB of memory, 2 passes, 1 lane; about 45 ms of one core here. Hashes are PHC
// strings, so the parameters travel with each hash and can be raised later without breaking
// old ones.

const hash = promisify(argon2);

export const ARGON2ID = { memory: 19 * 1024, passes: 2, parallelism: 1, tagLength: 32 } as const;

export async function hashPassword(password: string): Promise<string> {
  const nonce = randomBytes(16);
  const tag = await hash('argon2id', { message: password, nonce, ...ARGON2ID });
  const { memory, passes, parallelism } = ARGON2ID;
  return `$argon2id$v=19$m=${memory},t=${passes},p=${parallelism}$${b64(nonce)}$${b64(tag)}`;
}

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Whether `password` matches `phc`; a malformed hash never matches. Compares in constant time. */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const match = PHC.exec(phc);
  if (!match) return false;
  const [, memory, passes, parallelism, nonce, expected] = match;
  const expectedTag = Buffer.from(expected!, 'base64');
  const tag = await hash('argon2id', {
    message: password,
    nonce: Buffer.from(nonce!, 'base64'),
    memory: Number(memory),
    passes: Number(passes),
    parallelism: Number(parallelism),
    tagLength: expectedTag.length,
  });
  return timingSafeEqual(tag, expectedTag);
}

/**
 * A hash of nobody's password: a log-in for a username that does not exist verifies against
 * it, so it takes as long as one that does (no username enumeration by timing).
 */
export const decoyHash: Promise<string> = hashPassword(randomBytes(24).toString('base64'));

// PHC uses unpadded standard base64.
function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}
