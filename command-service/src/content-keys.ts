import { bootContentKeys, commandArgs, createLogger, createPgPool, loadConfig } from '@chat/platform';

// ./chat content-keys status [--json]
//   the content keys in Postgres: live data keys per master key (and which one is current),
//   erased data keys, live and erased shares.
// ./chat content-keys rotate [--json]
//   rewraps every data key under the current master key (the first of CONTENT_MASTER_KEYS), so
//   the older ones can then be dropped from it. Message content is not touched: only the small
//   wrapped data keys are rewritten. Safe to run while the services run, and to run again.
// Reads the same environment as the services (DATABASE_URL, PG_SCHEMA, CONTENT_MASTER_KEYS or
// CONTENT_MASTER_KEYS_FILE).

const USAGE = 'usage: ./chat content-keys status [--json] | rotate [--json]';

const { positionals, values } = commandArgs({ allowPositionals: true, options: { json: { type: 'boolean', default: false } } }, USAGE);
const [command] = positionals;
if ((command !== 'status' && command !== 'rotate') || positionals.length > 1) {
  console.error(USAGE);
  process.exit(64);
}
const config = loadConfig();
const pool = createPgPool(config, 2);
try {
  const keys = await bootContentKeys(pool, config, createLogger('content-keys', process.env.LOG_LEVEL ?? 'warn'));
  const rewrapped = command === 'rotate' ? await keys.rotate() : undefined;
  const counts = await keys.counts();
  if (values.json) console.log(JSON.stringify({ ...(rewrapped === undefined ? {} : { rewrapped }), ...counts }, null, 2));
  else {
    if (rewrapped !== undefined) console.log(`rewrapped ${rewrapped} data keys under master key '${counts.currentMasterKey}'`);
    const live = Object.entries(counts.dataKeysByMasterKey).map(
      ([id, n]) => `${n} under '${id}'${id === counts.currentMasterKey ? ' (current)' : ''}`,
    );
    console.log(`data keys: ${live.join(', ') || 'none'}; erased: ${counts.erasedDataKeys}`);
    console.log(`shares: ${counts.shares}; erased: ${counts.erasedShares}`);
    const old = Object.keys(counts.dataKeysByMasterKey).filter((id) => id !== counts.currentMasterKey);
    if (old.length > 0) console.log(`master keys still needed besides the current one: ${old.join(', ')} (./chat content-keys rotate)`);
  }
} catch (error) {
  console.error(`content-keys: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
