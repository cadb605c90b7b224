import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, RUN } from './paths.ts';
import { run } from './processes.ts';

// Second choice of DESIGN.md's order: where a Docker engine answers, the infrastructure
// comes from docker-compose.yml's official images instead of the native launchers.

const MARKER = join(RUN, 'docker-services');

export function dockerEngineAnswers(): boolean {
  if (process.env.CHAT_NO_DOCKER === '1') return false;
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

export function composeUp(services: string[]): void {
  if (services.length === 0) return;
  console.log(`docker: starting ${services.join(', ')} with docker compose`);
  run('docker', ['compose', 'up', '-d', '--wait', ...services], { cwd: ROOT, stdio: 'inherit' });
  mkdirSync(RUN, { recursive: true });
  const already = existsSync(MARKER) ? readMarker() : [];
  writeFileSync(MARKER, [...new Set([...already, ...services])].join('\n'));
}

export function composeDown(): string[] {
  if (!existsSync(MARKER)) return [];
  const services = readMarker();
  run('docker', ['compose', 'stop', ...services], { cwd: ROOT, stdio: 'inherit' });
  rmSync(MARKER);
  return services;
}

function readMarker(): string[] {
  return readFileSync(MARKER, 'utf8').split('\n').filter(Boolean);
}
