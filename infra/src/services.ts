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

/**
 * Starts a service with `env`, appending its output to .data/logs/<logName>.log, and waits for
 * /ready (or, `until: 'listening'`, for /healthz: a service expected to wait for an operator).
 */
export async function startService(
  name: ServiceName,
  env: NodeJS.ProcessEnv,
  logName: string = name,
  until: 'ready' | 'listening' = 'ready',
): Promise<RunningService> {
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
  const lastOutput = keepLastOutput(child);
  // A service that exits during start-up fails the start at once, with the end of its output:
  // a caller (a test in CI, most often) may see nothing else of it.
  const hopeless = new AbortController();
  child.once('close', (code, signal) => {
    const how = signal ?? `code ${code}`;
    hopeless.abort(new Error(`${name} exited during start-up (${how}); see ${log}; its output ended:\n${lastOutput()}`));
  });
  const port = servicePort(name, env);
  await waitFor(
    `${name} to be ${until} (log: ${log})`,
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/${until === 'ready' ? 'ready' : 'healthz'}`).catch(() => undefined);
      if (!response || response.ok) return response?.ok;
      // Readiness that waits for an operator (the log is not the deployment's) will not come by waiting.
      const { checks } = (await response.json().catch(() => ({}))) as { checks?: Record<string, string> };
      if (checks?.['event-log'] === 'down') {
        const why =
          lastOutput()
            .split('\n')
            .findLast((line) => line.includes('"level":"error"')) ?? '';
        hopeless.abort(new Error(`${name} waits for an operator (readiness: event-log down); see ${log}:\n${why}`));
      }
      throw new Error(`not ready: ${JSON.stringify(checks)}`);
    },
    { timeoutMs: 90_000, intervalMs: 100, signal: hopeless.signal },
  );
  return { name, child, log };
}

const KEPT_OUTPUT_BYTES = 4096;

/** The last few kilobytes a child wrote to stdout and stderr, for an error message. */
function keepLastOutput(child: ChildProcess): () => string {
  let kept = '';
  const keep = (chunk: Buffer) => {
    kept = (kept + chunk.toString('utf8')).slice(-KEPT_OUTPUT_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => kept;
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
