import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICES, SERVICE_NODE_ARGS, servicePort, waitFor, type ServiceName } from '@chat/platform';
import { LOGS, ROOT } from './paths.ts';

// The three services as processes: how to start one, where it logs, and when it is ready.
// `./chat up` and the end-to-end tests both start them through here.

export { SERVICES, type ServiceName };

export interface RunningService {
  name: ServiceName;
  child: ChildProcess;
  log: string;
}

/** Starts a service with `env`, appending its output to .data/logs/<logName>.log, and waits for /ready. */
export async function startService(name: ServiceName, env: NodeJS.ProcessEnv, logName: string = name): Promise<RunningService> {
  mkdirSync(LOGS, { recursive: true });
  const log = join(LOGS, `${logName}.log`);
  const out = createWriteStream(log, { flags: 'a' });
  // kafkajs 2.2.4 schedules timers with negative delays; Node 24 warns on each one. The tracing
  // preload comes before the service's entry (SERVICE_NODE_ARGS).
  const args = ['--disable-warning=TimeoutNegativeWarning', ...SERVICE_NODE_ARGS, join(ROOT, SERVICES[name].entry)];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const port = servicePort(name, env);
  await waitFor(
    `${name} to be ready (log: ${log})`,
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited during start-up; see ${log}`);
      const response = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined);
      return response?.ok ? true : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 100 },
  );
  return { name, child, log };
}

/** Stops a service (even a frozen one) and waits for it to exit; SIGKILL after 10 s, or at once to simulate a crash. */
export async function stopService(service: RunningService, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const { child } = service;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  // A process frozen with SIGSTOP only acts on SIGTERM once thawed (SIGKILL needs no thaw).
  if (signal !== 'SIGKILL') child.kill('SIGCONT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
