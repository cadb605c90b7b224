import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ContentIntegrityError, KEY_BYTES, newKeyMaterial, open, seal } from './sealing.ts';

/**
 * Wraps and unwraps data keys. The local provider below keeps master keys in configuration; a
 * KMS fits the same shape (wrap = Encrypt, unwrap = Decrypt, with `context` as the encryption
 * context), and so does an HSM.
 */
export interface KeyProvider {
  /** The master key new data keys are wrapped with (and rotation rewraps to). */
  readonly currentId: string;
  wrap(dataKey: Buffer, context: string): Promise<{ masterKeyId: string; wrapped: Buffer }>;
  unwrap(masterKeyId: string, wrapped: Buffer, context: string): Promise<Buffer>;
}

/** Master keys from CONTENT_MASTER_KEYS: `id:base64` pairs, comma-separated, the first current. */
export class LocalKeyProvider implements KeyProvider {
  readonly currentId: string;
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(spec: string) {
    this.keys = parseMasterKeys(spec);
    this.currentId = [...this.keys.keys()][0]!;
  }

  async wrap(dataKey: Buffer, context: string): Promise<{ masterKeyId: string; wrapped: Buffer }> {
    return { masterKeyId: this.currentId, wrapped: seal(this.keys.get(this.currentId)!, dataKey, context) };
  }

  async unwrap(masterKeyId: string, wrapped: Buffer, context: string): Promise<Buffer> {
    const key = this.keys.get(masterKeyId);
    if (!key)
      throw new ContentIntegrityError(
        `data key ${context} is wrapped by master key '${masterKeyId}', which CONTENT_MASTER_KEYS does not hold`,
      );
    return open(key, wrapped, context);
  }
}

/** Checks a CONTENT_MASTER_KEYS value; throws saying what is wrong, never what the keys are. */
export function parseMasterKeys(spec: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const entry of spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const colon = entry.indexOf(':');
    const id = entry.slice(0, colon);
    if (colon < 1 || !/^[A-Za-z0-9._-]{1,64}$/.test(id))
      throw new Error('each master key must be written id:base64, the id 1-64 of A-Z a-z 0-9 . _ -');
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (key.length !== KEY_BYTES) throw new Error(`master key '${id}' must be ${KEY_BYTES} bytes, base64-encoded`);
    if (keys.has(id)) throw new Error(`master key '${id}' is given twice`);
    keys.set(id, key);
  }
  if (keys.size === 0) throw new Error('at least one master key is needed');
  return keys;
}

/** Where a machine without CONTENT_MASTER_KEYS(_FILE) keeps its own (infra:up writes it once, mode 0600). */
export const LOCAL_CONTENT_MASTER_KEYS = fileURLToPath(new URL('../../../.data/keys/content-master-keys', import.meta.url));

/**
 * CONTENT_MASTER_KEYS, else the contents of the file CONTENT_MASTER_KEYS_FILE names (which must
 * be readable), else the local file; undefined when there is none.
 */
export function masterKeysFrom(env: NodeJS.ProcessEnv): string | undefined {
  if (env.CONTENT_MASTER_KEYS) return env.CONTENT_MASTER_KEYS;
  if (env.CONTENT_MASTER_KEYS_FILE) return readFileSync(env.CONTENT_MASTER_KEYS_FILE, 'utf8').trim();
  try {
    return readFileSync(LOCAL_CONTENT_MASTER_KEYS, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A new master key entry, for a first start or a rotation: `<id>:<32 random bytes, base64>`. */
export function newMasterKeyEntry(id: string): string {
  return `${id}:${newKeyMaterial().toString('base64')}`;
}
