import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { addressKey, takePoint } from '@chat/platform';
import type { AbuseLimits } from '../app/accounts.ts';
import { commandError, type CommandError } from '../domain/errors.ts';
import { backoffMs, freeFailures, type ThrottleSettings } from '../domain/log-in-throttle.ts';

// Guessing and floods, limited in Redis so every instance counts together. Addresses are
// counted by addressKey (an IPv6 host by its /64). Password checks (log-in, and a retried
// sign-up) are throttled per (username, address) with a doubling wait (domain/log-in-throttle.ts)
// and per address over all usernames; a username under attack from many addresses only
// shortens each address's free failures, so nobody can lock its owner out. A password
// change is throttled per user, apart from log-ins: only the signed-in user can fail it.
// Also sign-ups and anonymous sign-on starts per address, and commands per user (counted where they arrive, not again where
// they are forwarded).

export interface AbuseLimitSettings {
  signUpsPerAddressPerHour: number;
  /** Anonymous single sign-on starts from one address per 10 minutes. */
  signOnStartsPerAddressPer10Min: number;
  /** Password checks from one address (all usernames) per 15 minutes; successes are given back. */
  logInsPerAddressPer15Min: number;
  commandsPerUserPer10s: number;
  throttle: ThrottleSettings;
}

/** Enough steps of the doubling wait for any ceiling (2^31 × the first wait). */
const STEPS = 32;

// Atomically: refuse while the pair waits; else count the attempt as a failure (a success
// clears it), and start the pair's wait when its failures are past its free ones. The wait
// for the nth failure comes from the tables in ARGV (computed by the pure rule), the normal
// one or, when the username has too many failures from everywhere, the slowed one.
// KEYS: pair hash, username failure counter ('' for none). ARGV: now, windowMs, threshold, normal[STEPS], slowed[STEPS].
const ATTEMPT = `
local now = tonumber(ARGV[1])
local waitUntil = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if now < waitUntil then return waitUntil - now end
local usernameFailures = 0
if KEYS[2] ~= '' then
  usernameFailures = redis.call('INCR', KEYS[2])
  if usernameFailures == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
  usernameFailures = usernameFailures - 1
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local base = 3
if usernameFailures >= tonumber(ARGV[3]) then base = 3 + ${STEPS} end
local delay = tonumber(ARGV[base + math.min(n, ${STEPS})])
if delay > 0 then redis.call('HSET', KEYS[1], 'until', now + delay) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + delay)
return 0
`;

// A success: the pair's failures are forgotten, and the attempt is taken back from the username's count.
const SUCCEEDED = `
redis.call('DEL', KEYS[1])
if KEYS[2] ~= '' and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
`;

export class RedisAbuseLimits implements AbuseLimits {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly throttle: ThrottleSettings;
  private readonly signUps: RateLimiterRedis;
  private readonly signOnStarts: RateLimiterRedis;
  private readonly logInsByAddress: RateLimiterRedis;
  private readonly commands: RateLimiterRedis;
  private readonly delays: string[];

  constructor(redis: Redis, prefix: string, settings: AbuseLimitSettings) {
    this.redis = redis;
    this.prefix = prefix;
    this.throttle = settings.throttle;
    const limiter = (name: string, points: number, duration: number) =>
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}limit:${name}`, points, duration });
    this.signUps = limiter('sign-up:address', settings.signUpsPerAddressPerHour, 3600);
    this.signOnStarts = limiter('sign-on-start:address', settings.signOnStartsPerAddressPer10Min, 600);
    this.logInsByAddress = limiter('log-in:address', settings.logInsPerAddressPer15Min, 900);
    this.commands = limiter('command:user', settings.commandsPerUserPer10s, 10);
    const table = (free: number) => Array.from({ length: STEPS }, (_, i) => String(backoffMs(this.throttle, i + 1, free)));
    this.delays = [...table(this.throttle.freeFailures), ...table(freeFailures(this.throttle, Infinity))];
  }

  /** One more command from `userId`, or RATE_LIMITED with when to try again. */
  command(userId: string): Promise<CommandError | undefined> {
    return consume(this.commands, userId, 'too many commands; slow down');
  }

  signUp(address: string): Promise<CommandError | undefined> {
    return consume(this.signUps, addressKey(address), 'too many sign-ups from your address');
  }

  async signUpWasLogIn(address: string): Promise<void> {
    await this.signUps.reward(addressKey(address), 1);
  }

  signOnStart(address: string): Promise<CommandError | undefined> {
    return consume(this.signOnStarts, addressKey(address), 'too many sign-ons started from your address');
  }

  async logIn(usernameKey: string, address: string): Promise<CommandError | undefined> {
    const limited = await consume(this.logInsByAddress, addressKey(address), 'too many log-in attempts from your address');
    if (limited) return limited;
    return this.attempt(
      this.pairKey(usernameKey, address),
      this.usernameKey(usernameKey),
      'too many failed log-ins; wait before trying again',
    );
  }

  async loggedIn(usernameKey: string, address: string): Promise<void> {
    await this.succeeded(this.pairKey(usernameKey, address), this.usernameKey(usernameKey));
    await this.logInsByAddress.reward(addressKey(address), 1);
  }

  passwordCheck(userId: string): Promise<CommandError | undefined> {
    return this.attempt(this.passwordChangeKey(userId), '', 'too many wrong current passwords; wait before trying again');
  }

  async passwordChecked(userId: string): Promise<void> {
    await this.succeeded(this.passwordChangeKey(userId), '');
  }

  private async attempt(pair: string, username: string, message: string): Promise<CommandError | undefined> {
    const waitMs = Number(
      await this.redis.eval(
        ATTEMPT,
        2,
        pair,
        username,
        Date.now(),
        this.throttle.windowMs,
        this.throttle.usernameFailuresBeforeSlowdown,
        ...this.delays,
      ),
    );
    if (waitMs <= 0) return undefined;
    return { ...commandError('RATE_LIMITED', message), retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  private async succeeded(pair: string, username: string): Promise<void> {
    await this.redis.eval(SUCCEEDED, 2, pair, username);
  }

  private pairKey(usernameKey: string, address: string): string {
    return `${this.prefix}limit:log-in:pair:${addressKey(address)}:${usernameKey}`;
  }

  private usernameKey(usernameKey: string): string {
    return `${this.prefix}limit:log-in:username:${usernameKey}`;
  }

  private passwordChangeKey(userId: string): string {
    return `${this.prefix}limit:change-password:user:${userId}`;
  }
}

async function consume(limiter: RateLimiterRedis, key: string, message: string): Promise<CommandError | undefined> {
  const limited = await takePoint(limiter, key);
  return limited && { ...commandError('RATE_LIMITED', message), retryAfterSeconds: limited.retryAfterSeconds };
}
