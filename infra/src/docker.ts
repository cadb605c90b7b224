import { spawnSync } from 'node:child_process';
import { sleep } from '@chat/platform';
import { ROOT } from './paths.ts';
import { commandExists, run } from './processes.ts';

// The whole platform in Docker from docker-compose.yml (official images, or the local stand-ins
// that .env names), with Compose v2 or v1, for ./chat test:docker and its tests.

export function dockerEngineAnswers(): boolean {
  if (process.env.CHAT_NO_DOCKER === '1') return false;
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

/** Compose v2 (`docker compose`) where the plugin is installed, else Debian's v1 (`docker-compose`). */
export function composeCommand(): [string, ...string[]] {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (commandExists('docker-compose')) return ['docker-compose'];
  throw new Error('neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)');
}

export interface ComposeProject {
  /** The compose file, relative to the repository root. */
  file?: string;
  /** The project name (-p): containers, networks and volumes are named after it. */
  project?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs one compose command against a project; throws with its output when it fails. */
export function compose(args: string[], target: ComposeProject = {}, inherit = false): string {
  const [command, ...base] = composeCommand();
  const selection = [...(target.file ? ['-f', target.file] : []), ...(target.project ? ['-p', target.project] : [])];
  return run(command, [...base, ...selection, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...target.env },
    stdio: inherit ? 'inherit' : 'pipe',
  });
}

/**
 * Starts services and waits until each is healthy (or, without a health check, running).
 * Compose v1 has no `up --wait`, so this reads the containers' state itself.
 */
export async function composeUpAndWait(services: string[], target: ComposeProject = {}, timeoutMs = 300_000): Promise<void> {
  compose(['up', '-d', ...services], target, true);
  const deadline = Date.now() + timeoutMs;
  for (const service of services) {
    for (;;) {
      const state = containerState(service, target);
      if (state === 'healthy' || state === 'running' || state === 'exited 0') break;
      if (state.startsWith('exited') || state === 'unhealthy') throw new Error(`docker: ${service} is ${state}`);
      if (Date.now() > deadline) throw new Error(`docker: ${service} not healthy within ${timeoutMs / 1000} s (${state})`);
      await sleep(1000);
    }
  }
}

/** `healthy`, `unhealthy`, `starting`, `running` (no health check), `exited <code>`, or `missing`. */
export function containerState(service: string, target: ComposeProject = {}): string {
  const id = compose(['ps', '-a', '-q', service], target).trim().split('\n')[0];
  if (!id) return 'missing';
  const format = '{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}';
  const [status, code, health] = run('docker', ['inspect', '-f', format, id]).trim().split(' ');
  if (status === 'exited') return `exited ${code}`;
  if (status !== 'running') return status ?? 'missing';
  return health || 'running';
}
