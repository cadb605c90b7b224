import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Repository root. Downloads go to .cache/, state the launcher keeps (data, pids, logs) to .data/. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const INFRA = join(ROOT, 'infra');
export const CACHE = join(ROOT, '.cache');
export const DATA = join(ROOT, '.data');
export const LOGS = join(DATA, 'logs');
export const RUN = join(DATA, 'run');
