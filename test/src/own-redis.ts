import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '@chat/infra';
import { waitFor } from '@chat/platform';
import { killAtExit } from './on-exit.ts';

// A Redis server of the test's own on a free port, from the machine's redis-server: a test may
// kill and start it at will without touching the server every other test shares. As deployed:
// no RDB snapshot, no AOF, so a restart comes back empty.

export class OwnRedis {
  readonly port: number;
  private server: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  static async create(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (empty) and waits until it answers PING. */
  async start(): Promise<void> {
    const { port } = this;
    this.server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    killAtExit(this.server);
    await waitFor(
      'the test Redis server',
      async () => {
        const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => undefined); // refused until the server listens: that is what we wait out
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG' ? true : undefined;
        } finally {
          probe.disconnect();
        }
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  }

  /** SIGKILLs the server (everything in it is lost) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.server;
    this.server = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
