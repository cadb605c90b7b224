import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { takePoint } from '@chat/platform';
import type { AbuseLimits } from '../app/accounts.ts';
import { commandError, type CommandError } from '../domain/errors.ts';

// Guessing and floods, limited in Redis so every instance counts together: log-in attempts per
// username (reset by a success) and per client address, sign-ups per address, and commands
// per user (counted where they arrive, not again where they are forwarded).

export interface AbuseLimitSettings {
  signUpsPerAddressPerHour: number;
  logInsPerUsernamePer15Min: number;
  logInsPerAddressPer15Min: number;
  commandsPerUserPer10s: number;
}

export class RedisAbuseLimits implements AbuseLimits {
  private readonly signUps: RateLimiterRedis;
  private readonly logInsByUsername: RateLimiterRedis;
  private readonly logInsByAddress: RateLimiterRedis;
  private readonly commands: RateLimiterRedis;

  constructor(redis: Redis, prefix: string, settings: AbuseLimitSettings) {
    const limiter = (name: string, points: number, duration: number) =>
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}limit:${name}`, points, duration });
    this.signUps = limiter('sign-up:address', settings.signUpsPerAddressPerHour, 3600);
    this.logInsByUsername = limiter('log-in:username', settings.logInsPerUsernamePer15Min, 900);
    this.logInsByAddress = limiter('log-in:address', settings.logInsPerAddressPer15Min, 900);
    this.commands = limiter('command:user', settings.commandsPerUserPer10s, 10);
  }

  /** One more command from `userId`, or RATE_LIMITED with when to try again. */
  command(userId: string): Promise<CommandError | undefined> {
    return consume(this.commands, userId, 'too many commands; slow down');
  }

  signUp(address: string): Promise<CommandError | undefined> {
    return consume(this.signUps, address, 'too many sign-ups from your address');
  }

  async logIn(usernameKey: string, address: string): Promise<CommandError | undefined> {
    return (
      (await consume(this.logInsByAddress, address, 'too many log-in attempts from your address')) ??
      (await consume(this.logInsByUsername, usernameKey, 'too many log-in attempts for this username'))
    );
  }

  async loggedIn(usernameKey: string): Promise<void> {
    await this.logInsByUsername.delete(usernameKey);
  }
}

async function consume(limiter: RateLimiterRedis, key: string, message: string): Promise<CommandError | undefined> {
  const limited = await takePoint(limiter, key);
  return limited && { ...commandError('RATE_LIMITED', message), retryAfterSeconds: limited.retryAfterSeconds };
}
