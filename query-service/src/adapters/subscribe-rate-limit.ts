import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { takePoint } from '@chat/platform';

// How often one user may start subscriptions, counted in Redis so every query-service
// instance shares the count: each start replays history from Postgres, so a client that
// subscribes in a loop is a flood of reads. Over the limit: RATE_LIMITED with when to retry.

export class SubscribeRateLimit {
  private readonly limiter: RateLimiterRedis;

  constructor(redis: Redis, prefix: string, perUserPer10s: number) {
    this.limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}limit:subscribe`, points: perUserPer10s, duration: 10 });
  }

  /** One more subscription started by `userId`, or why not. */
  async admit(userId: string): Promise<GraphQLError | undefined> {
    const limited = await takePoint(this.limiter, userId);
    if (!limited) return undefined;
    return new GraphQLError(`too many subscriptions started; retry in ${limited.retryAfterSeconds} s`, {
      extensions: { code: 'RATE_LIMITED', retryAfterSeconds: limited.retryAfterSeconds },
    });
  }
}
