import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DATA } from './paths.ts';

// Which launcher started each component last, so that infra:up never swaps a store: a broker
// restarted in a container with empty storage on the native broker's address (because a Docker
// engine had appeared since) took the place of the log every service was built from, and
// acknowledged messages were lost (issue 20). A component keeps the launcher that holds its data.

export type Launcher = 'native' | 'container';

const RECORD = join(DATA, 'infra', 'launchers.json');

export function previousLauncher(component: string, record = RECORD): Launcher | undefined {
  try {
    return (JSON.parse(readFileSync(record, 'utf8')) as Record<string, Launcher>)[component];
  } catch {
    return undefined; // never started here, or the record was removed to start afresh
  }
}

export function rememberLauncher(component: string, launcher: Launcher, record = RECORD): void {
  let launchers: Record<string, Launcher> = {};
  try {
    launchers = JSON.parse(readFileSync(record, 'utf8')) as Record<string, Launcher>;
  } catch {
    // first launch
  }
  mkdirSync(dirname(record), { recursive: true });
  writeFileSync(record, `${JSON.stringify({ ...launchers, [component]: launcher }, null, 2)}\n`);
}

/**
 * The launcher for a component that is not running: the one that started it before (whose data
 * it keeps), else a container where one can run, else the native launcher. Throws when only a
 * container holds its data and none can run now: starting it natively would start it empty.
 */
export function chooseLauncher(
  component: string,
  previous: Launcher | undefined,
  containerPossible: boolean,
): { launcher: Launcher; why: string } {
  if (previous === 'native') {
    return { launcher: 'native', why: containerPossible ? 'kept on the native launcher, which holds its data' : 'native launcher' };
  }
  if (previous === 'container') {
    if (containerPossible) return { launcher: 'container', why: 'kept in a container, as it was started before' };
    throw new Error(
      `${component} was last started in a container, which the native launcher cannot take over without losing its data; ` +
        `start the Docker engine, or remove .data/infra/launchers.json to start it afresh`,
    );
  }
  return containerPossible ? { launcher: 'container', why: 'testcontainers' } : { launcher: 'native', why: 'native launcher' };
}
