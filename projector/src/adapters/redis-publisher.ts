import type { Redis } from 'ioredis';
import { sleep, type Logger } from '@chat/platform';
import { roomChannel, userChannel, type LiveNotification } from '@chat/schemas';

// After a batch commits, its changes go out on Redis, one channel per room. Redis is only
// the live path: a notification lost here is recovered by subscribers from Postgres by
// cursor, so a Redis outage delays live delivery but loses nothing.

export class RedisPublisher {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly log: Logger;

  constructor(redis: Redis, prefix: string, log: Logger) {
    this.redis = redis;
    this.prefix = prefix;
    this.log = log;
  }

  async publish(notifications: readonly LiveNotification[], attempts = 3): Promise<void> {
    if (notifications.length === 0) return;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const pipeline = this.redis.pipeline();
        for (const n of notifications) {
          const channel = n.forUser ? userChannel(this.prefix, n.forUser) : roomChannel(this.prefix, n.event.roomId);
          pipeline.publish(channel, JSON.stringify(n));
        }
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error);
        if (failed) throw failed[0];
        return;
      } catch (error) {
        if (attempt === attempts) {
          this.log.warn('live notifications not published; subscribers will catch up from history', { error, count: notifications.length });
          return;
        }
        await sleep(100 * attempt);
      }
    }
  }
}
