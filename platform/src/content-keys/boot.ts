import type pg from 'pg';
import type { PlatformConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { LocalKeyProvider, masterKeysFrom } from './master-keys.ts';
import { PgContentKeys } from './pg-content-keys.ts';
import { ContentIntegrityError } from './sealing.ts';

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
  let provider: LocalKeyProvider;
  try {
    const spec = masterKeysFrom(env);
    if (spec === undefined)
      throw new Error('none given: set CONTENT_MASTER_KEYS or CONTENT_MASTER_KEYS_FILE (infra:up writes a local one)');
    provider = new LocalKeyProvider(spec);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : 'unreadable');
    log.error(`invalid configuration: CONTENT_MASTER_KEYS: ${reason}`);
    process.exit(2);
  }
  const keys = new PgContentKeys(pool, config.pgSchema, provider);
  try {
    await keys.verify();
  } catch (error) {
    if (!(error instanceof ContentIntegrityError)) throw error;
    log.error(`invalid configuration: CONTENT_MASTER_KEYS cannot open the content keys in Postgres: ${error.message}`);
    process.exit(2);
  }
  return keys;
}
