import pg from 'pg';
import { sleep, type Logger, type PlatformConfig } from '@chat/platform';
import { PROJECTION_CHANNEL, type ProjectionProgress } from '@chat/schemas';
import type { ProjectionWaiter } from '../app/command-handler.ts';
import type { Position } from '../app/outcome.ts';

// Read-your-writes: the projector commits each batch with its partition checkpoint and a
// NOTIFY on PROJECTION_CHANNEL in the same transaction. This LISTENs on one connection, keeps
// the newest checkpoint of every partition, and wakes every command waiting for its position.
// Progress is pushed: the checkpoints are read once when listening starts (and again after a
// reconnect, since notifications sent meanwhile are lost), never once per command.

interface Waiter {
  offset: bigint;
  resolve: (visible: boolean) => void;
}

export class ProjectionWatcher implements ProjectionWaiter {
  private readonly config: PlatformConfig;
  private readonly pool: pg.Pool;
  private readonly topic: string;
  private readonly log: Logger;
  /** Highest next-offset seen per partition. */
  private readonly seen = new Map<number, bigint>();
  private readonly waiters = new Map<number, Set<Waiter>>();
  private listener: pg.Client | undefined;
  private stopped = false;
  private reconnecting = false;

  constructor(config: PlatformConfig, pool: pg.Pool, topic: string, log: Logger) {
    this.config = config;
    this.pool = pool;
    this.topic = topic;
    this.log = log;
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.config.databaseUrl });
    client.on('notification', (message) => this.onNotification(message.payload));
    client.on('error', (error) => {
      this.log.warn('projection listener lost its connection; reconnecting', { error });
      void this.reconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${PROJECTION_CHANNEL}`);
    this.listener = client;
    await this.readCheckpoints();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.listener?.end().catch(() => undefined);
    for (const set of this.waiters.values()) for (const waiter of set) waiter.resolve(false);
  }

  waitVisible(position: Position, timeoutMs: number): Promise<boolean> {
    const wanted = BigInt(position.offset) + 1n;
    if ((this.seen.get(position.partition) ?? -1n) >= wanted) return Promise.resolve(true);
    return new Promise((resolve) => {
      const set = this.waiters.get(position.partition) ?? new Set<Waiter>();
      this.waiters.set(position.partition, set);
      const waiter: Waiter = {
        offset: wanted,
        resolve: (visible) => {
          clearTimeout(timer);
          set.delete(waiter);
          resolve(visible);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs);
      set.add(waiter);
    });
  }

  private onNotification(payload: string | undefined): void {
    if (!payload) return;
    for (const { topic, partition, nextOffset } of JSON.parse(payload) as ProjectionProgress[]) {
      if (topic === this.topic) this.advance(partition, BigInt(nextOffset));
    }
  }

  private advance(partition: number, nextOffset: bigint): void {
    if (nextOffset > (this.seen.get(partition) ?? -1n)) this.seen.set(partition, nextOffset);
    for (const waiter of this.waiters.get(partition) ?? []) {
      if (nextOffset >= waiter.offset) waiter.resolve(true);
    }
  }

  private async readCheckpoints(): Promise<void> {
    try {
      const { rows } = await this.pool.query<{ partition: number; next_offset: string }>(
        'SELECT partition, next_offset FROM projection_checkpoints WHERE topic = $1',
        [this.topic],
      );
      for (const row of rows) this.advance(row.partition, BigInt(row.next_offset));
    } catch (error) {
      // The projector may not have created its tables yet; the notification will come.
      this.log.debug('checkpoint read failed', { error });
    }
  }

  /** One reconnect loop at a time, however many errors the dying connection reports. */
  private async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    await this.listener?.end().catch(() => undefined);
    while (!this.stopped) {
      try {
        await this.start();
        break;
      } catch {
        await sleep(1000);
      }
    }
    this.reconnecting = false;
  }
}
