import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '@chat/platform';
import { LOGS, RUN } from './paths.ts';

// Background processes the launcher started, tracked by pid files in .data/run so that
// `infra:down` stops only what `infra:up` started and never a server someone else runs.

export interface Started {
  name: string;
  pid: number;
  log: string;
}

export function startDetached(
  name: string,
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Started {
  mkdirSync(LOGS, { recursive: true });
  mkdirSync(RUN, { recursive: true });
  const log = join(LOGS, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  child.unref();
  writeFileSync(pidFile(name), String(child.pid));
  return { name, pid: child.pid, log };
}

/** The pid of a process this launcher started and that is still alive, else undefined. */
export function runningPid(name: string): number | undefined {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8'));
  if (Number.isInteger(pid) && isAlive(pid)) return pid;
  rmSync(file, { force: true });
  return undefined;
}

/**
 * Stops a process this launcher started: SIGTERM, then SIGKILL after `graceMs`; to its whole
 * process group unless `group` is false (a process that was not started detached, as
 * `./chat up` itself, may share its group with the shell that ran it).
 */
export async function stopStarted(name: string, graceMs = 20_000, { group = true } = {}): Promise<boolean> {
  const pid = runningPid(name);
  if (pid === undefined) return false;
  const signal = group ? signalGroup : signalOne;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) signal(pid, 'SIGKILL');
  rmSync(pidFile(name), { force: true });
  return true;
}

/** Records this process as the running `name`, until it exits (so another command can find and stop it). */
export function recordSelf(name: string): void {
  mkdirSync(RUN, { recursive: true });
  writeFileSync(pidFile(name), String(process.pid));
  process.once('exit', () => {
    if (runningPid(name) === process.pid) rmSync(pidFile(name), { force: true });
  });
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const output = `${String(result.stdout ?? '')}${String(result.stderr ?? '')}`.trim();
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${output}`);
  }
  return String(result.stdout ?? '');
}

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function pidFile(name: string): string {
  return join(RUN, `${name}.pid`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalOne(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  // Detached children lead their own process group; signalling the group also reaches
  // anything they spawned.
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
