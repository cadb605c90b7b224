import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LOCAL_CONTENT_MASTER_KEYS, masterKeysFrom, newMasterKeyEntry } from '@chat/platform';

/**
 * Writes this machine's content master key (random, mode 0600, under .data/keys) unless the
 * environment names keys of its own or the file is there: the services read it when
 * CONTENT_MASTER_KEYS(_FILE) is unset (platform/src/content-keys/master-keys.ts). Losing it
 * makes every sealed message unreadable: the README says how to back it up.
 */
export function ensureLocalMasterKeys(env: Record<string, string | undefined> = process.env, file = LOCAL_CONTENT_MASTER_KEYS): void {
  if (file === LOCAL_CONTENT_MASTER_KEYS && masterKeysFrom(env) !== undefined) return;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    // 'wx': a second start beside this one keeps the first one's; an existing key is never replaced.
    writeFileSync(file, `${newMasterKeyEntry(`k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`)}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
