import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * Takes one point of `key`: undefined when there was one to take, else how many whole seconds
 * (at least 1) until there is. Redis trouble is thrown as it came, for the caller to answer
 * UNAVAILABLE rather than let the request through.
 */
export async function takePoint(limiter: RateLimiterAbstract, key: string): Promise<{ retryAfterSeconds: number } | undefined> {
  try {
    await limiter.consume(key);
    return undefined;
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    return { retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
  }
}
