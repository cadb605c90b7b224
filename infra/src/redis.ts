import { Redis } from 'ioredis';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, type PlatformConfig } from '@chat/platform';
import { DATA } from './paths.ts';
import { commandExists, run, startDetached } from './processes.ts';

// Redis only carries live notifications and ephemeral state, so a local server that keeps
// nothing on disk is all the stack needs.

export async function redisAnswers(config: PlatformConfig): Promise<boolean> {
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export function startLocalRedis(config: PlatformConfig): void {
  if (!commandExists('redis-server')) {
    console.log('redis: not installed; installing redis-server from Debian packages');
    run('apt-get', ['update', '-q'], { stdio: 'inherit' });
    run('apt-get', ['install', '-y', '-q', 'redis-server'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  const port = new URL(config.redisUrl).port || '6379';
  const dir = join(DATA, 'redis');
  mkdirSync(dir, { recursive: true });
  const started = startDetached('redis', 'redis-server', [
    '--port',
    port,
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ]);
  console.log(`redis: started redis-server (pid ${started.pid}, log ${started.log})`);
}

export async function waitForRedis(config: PlatformConfig, timeoutMs = 30_000): Promise<void> {
  await waitFor(`Redis at ${config.redisUrl}`, async () => ((await redisAnswers(config)) ? true : undefined), { timeoutMs });
}
