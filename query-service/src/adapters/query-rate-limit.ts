import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { addressKey } from '@chat/platform';

// How much one user (or, before signing in, one address) may ask of the read models, weighted
// by what each operation costs (graphql-limits.ts prices it: about the rows it can read), and
// counted in Redis so every query-service instance shares the count. A whole-history search is
// priced high, so a burst of them meets this within a few requests. Over the limit:
// RATE_LIMITED with when to retry. Redis down stops live delivery only, not reads: each
// instance then counts on its own in memory (rate-limiter-flexible's insurance limiter).

export interface QueryLimits {
  /** Cost points per user per 10 s (QUERY_LIMIT_PER_USER). */
  perUser: number;
  /** Cost points per address per 10 s for callers without a session (QUERY_LIMIT_PER_ADDRESS). */
  perAddress: number;
}

export const QUERY_LIMIT_DEFAULTS: QueryLimits = { perUser: 50_000, perAddress: 5_000 };

const WINDOW_SECONDS = 10;

export class QueryRateLimit {
  private readonly users: RateLimiterRedis;
  private readonly addresses: RateLimiterRedis;

  constructor(redis: Redis, prefix: string, limits: QueryLimits) {
    const limiter = (name: string, points: number) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}limit:query-${name}`,
        points,
        duration: WINDOW_SECONDS,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ points, duration: WINDOW_SECONDS }),
      });
    this.users = limiter('user', limits.perUser);
    this.addresses = limiter('address', limits.perAddress);
  }

  /** Takes `cost` points (at least one) from the caller, or says when to retry. */
  async admit(caller: { userId: string } | { address: string }, cost: number): Promise<GraphQLError | undefined> {
    // An address is counted by its key (an IPv6 host by its /64), as every per-address limit is.
    const [limiter, key] = 'userId' in caller ? [this.users, caller.userId] : [this.addresses, addressKey(caller.address)];
    try {
      await limiter.consume(key, Math.max(1, Math.ceil(cost)));
      return undefined;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      return new GraphQLError(`too many queries (weighted by cost); retry in ${retryAfterSeconds} s`, {
        extensions: { code: 'RATE_LIMITED', retryAfterSeconds },
      });
    }
  }
}
