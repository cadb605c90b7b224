import type pg from 'pg';
import type { PlatformConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { LocalKeyProvider, masterKeysFrom } from './master-keys.ts';
import { PgContentKeys } from './pg-content-keys.ts';
import { ContentIntegrityError } from './sealing.ts';

/**
 * The key store under the environment's master keys (CONTENT_MASTER_KEYS, its file, or this
 * machine's); throws, saying why and never what the keys are, when there are none or they are
 * malformed. Services take it through bootContentKeys; tools and benchmarks directly.
 */
export function contentKeysFrom(pool: Pick<pg.Pool, 'query'>, config: Pick<PlatformConfig, 'pgSchema'>, env = process.env): PgContentKeys {
  const spec = masterKeysFrom(env);
  if (spec === undefined) throw new Error('none given: set CONTENT_MASTER_KEYS or CONTENT_MASTER_KEYS_FILE (infra:up writes a local one)');
  return new PgContentKeys(pool, config.pgSchema, new LocalKeyProvider(spec));
}

/**
 * The key store of a service that seals or opens message content, from CONTENT_MASTER_KEYS
 * (or its file, or the local one). Without usable master keys the service cannot do its work,
 * so it stops at once, saying why in one line and never what the keys are (exit 2, as for any
 * bad configuration); so does a master key that cannot open the newest data key.
 */
export async function bootContentKeys(
  pool: Pick<pg.Pool, 'query'>,
  config: PlatformConfig,
  log: Logger,
  env = process.env,
): Promise<PgContentKeys> {
  let keys: PgContentKeys;
  try {
    keys = contentKeysFrom(pool, config, env);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : 'unreadable');
    log.error(`invalid configuration: CONTENT_MASTER_KEYS: ${reason}`);
    process.exit(2);
  }
  try {
    await keys.verify();
  } catch (error) {
    if (!(error instanceof ContentIntegrityError)) throw error;
    log.error(`invalid configuration: CONTENT_MASTER_KEYS cannot open the content keys in Postgres: ${error.message}`);
    process.exit(2);
  }
  return keys;
}
