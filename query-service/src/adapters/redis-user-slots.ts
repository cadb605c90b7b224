import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '@chat/platform';
import type { UserSlots } from '../app/subscription-caps.ts';

// A user's open operations across every query-service instance: one sorted set per user in
// Redis, a member per operation, scored by when its lease ends. Each instance renews the
// leases of what it holds; an instance that dies stops renewing, and its operations stop
// counting when their leases run out, so a crash frees its users' slots within a lease (60 s).

// Drops ended leases, then adds one if fewer than the limit are open: atomic, so instances
// taking slots for one user at once never pass the limit together.
const TAKE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

export class RedisUserSlots implements UserSlots {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly instance = randomUUID();
  private readonly held = new Map<string, Set<string>>();
  private readonly leaseMs: number;
  private next = 0;
  private renewal: NodeJS.Timeout | undefined;

  constructor(redis: Redis, prefix: string, log: Logger, leaseMs = 60_000) {
    this.redis = redis;
    this.prefix = prefix;
    this.log = log;
    this.leaseMs = leaseMs;
  }

  start(): void {
    this.renewal = setInterval(() => void this.renew(), this.leaseMs / 3);
    this.renewal.unref();
  }

  stop(): Promise<void> {
    clearInterval(this.renewal);
    // Hand back what this instance held rather than leave it to the leases.
    const pipeline = this.redis.pipeline();
    for (const [userId, slots] of this.held) pipeline.zrem(this.key(userId), ...slots);
    this.held.clear();
    return pipeline.exec().then(
      () => undefined,
      () => undefined,
    );
  }

  async take(userId: string, limit: number): Promise<string | undefined> {
    const slot = `${this.instance}:${(this.next += 1)}`;
    const now = Date.now();
    try {
      const taken = await this.redis.eval(TAKE, 1, this.key(userId), now, limit, now + this.leaseMs, slot, this.leaseMs);
      if (taken !== 1) return undefined;
    } catch (error) {
      // A cap protects the service, it does not decide what anyone may see: without Redis the
      // socket's own cap still holds, and live delivery waits for Redis anyway.
      this.log.warn('cannot count open subscriptions; admitting', { error });
    }
    const mine = this.held.get(userId) ?? new Set<string>();
    mine.add(slot);
    this.held.set(userId, mine);
    return slot;
  }

  give(userId: string, slot: string): void {
    const mine = this.held.get(userId);
    if (!mine?.delete(slot)) return;
    if (mine.size === 0) this.held.delete(userId);
    this.redis.zrem(this.key(userId), slot).catch((error: unknown) => this.log.warn('cannot free a subscription slot', { error }));
  }

  /** Extends the leases of every slot this instance holds: one command per user. */
  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const until = Date.now() + this.leaseMs;
    const pipeline = this.redis.pipeline();
    for (const [userId, slots] of this.held) {
      pipeline.zadd(this.key(userId), ...[...slots].flatMap((slot) => [until, slot]));
      pipeline.pexpire(this.key(userId), this.leaseMs);
    }
    await pipeline.exec().catch((error: unknown) => this.log.warn('cannot renew subscription slots', { error }));
  }

  private key(userId: string): string {
    return `${this.prefix}open-subscriptions:${userId}`;
  }
}
