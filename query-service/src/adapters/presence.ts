import type { Redis } from 'ioredis';
import type { Logger } from '@chat/platform';

// Presence from open sockets across every query-service instance: each instance lists itself
// under each user it holds a socket of, and keeps an "I am alive" key with a short expiry.
// A user is ONLINE while some live instance lists them (two instances, one user: online once),
// AWAY when they said so and are online, else OFFLINE, with the time their last socket closed.
// An instance that dies stops renewing its key: its users go offline within INSTANCE_TTL_S.

const INSTANCE_TTL_S = 30;
const HEARTBEAT_MS = 10_000;
const AWAY_TTL_S = 12 * 3600;

export type PresenceStatus = 'ONLINE' | 'AWAY' | 'OFFLINE';

export interface PresenceView {
  status: PresenceStatus;
  /** epoch ms the user's last socket closed; null while online or never seen. */
  lastSeenAt: number | null;
}

export class Presence {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly instanceId = crypto.randomUUID();
  private readonly log: Logger;
  private readonly sockets = new Map<string, number>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(redis: Redis, prefix: string, log: Logger) {
    this.redis = redis;
    this.prefix = prefix;
    this.log = log;
  }

  async start(): Promise<void> {
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
  }

  /** A socket of `userId` opened on this instance. */
  connected(userId: string): void {
    const count = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, count);
    if (count === 1) this.redis.sadd(this.key('presence', userId), this.instanceId).catch((error: unknown) => this.warn(error));
  }

  /** A socket of `userId` closed on this instance. */
  disconnected(userId: string): void {
    const count = (this.sockets.get(userId) ?? 1) - 1;
    if (count > 0) return void this.sockets.set(userId, count);
    this.sockets.delete(userId);
    this.redis
      .multi()
      .srem(this.key('presence', userId), this.instanceId)
      .set(this.key('last-seen', userId), String(Date.now()))
      .exec()
      .catch((error: unknown) => this.warn(error));
  }

  async setAway(userId: string, away: boolean): Promise<void> {
    if (away) await this.redis.set(this.key('away', userId), '1', 'EX', AWAY_TTL_S);
    else await this.redis.del(this.key('away', userId));
  }

  /** Presence of each user, in the order asked (for DataLoader). */
  async of(userIds: readonly string[]): Promise<PresenceView[]> {
    const read = this.redis.pipeline();
    for (const id of userIds) read.smembers(this.key('presence', id)).get(this.key('last-seen', id)).exists(this.key('away', id));
    const results = (await read.exec()) ?? [];
    const users = userIds.map((_, i) => ({
      instances: (results[i * 3]?.[1] ?? []) as string[],
      lastSeen: results[i * 3 + 1]?.[1] as string | null,
      away: results[i * 3 + 2]?.[1] === 1,
    }));
    const instances = [...new Set(users.flatMap((u) => u.instances))];
    const alive = new Set<string>();
    if (instances.length > 0) {
      const check = this.redis.pipeline();
      for (const id of instances) check.exists(this.key('instance', id));
      const answers = (await check.exec()) ?? [];
      instances.forEach((id, i) => answers[i]?.[1] === 1 && alive.add(id));
    }
    return users.map((u) => {
      const online = u.instances.some((id) => alive.has(id));
      return { status: online ? (u.away ? 'AWAY' : 'ONLINE') : 'OFFLINE', lastSeenAt: online || !u.lastSeen ? null : Number(u.lastSeen) };
    });
  }

  /** This instance leaves: its users are offline now rather than when its key expires. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    const leaving = this.redis.multi().del(this.key('instance', this.instanceId));
    for (const userId of this.sockets.keys()) {
      leaving.srem(this.key('presence', userId), this.instanceId).set(this.key('last-seen', userId), String(Date.now()));
    }
    await leaving.exec().catch((error: unknown) => this.warn(error));
  }

  private async beat(): Promise<void> {
    await this.redis.set(this.key('instance', this.instanceId), '1', 'EX', INSTANCE_TTL_S).catch((error: unknown) => this.warn(error));
  }

  private key(kind: 'presence' | 'last-seen' | 'away' | 'instance', id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }

  private warn(error: unknown): void {
    this.log.warn('presence not recorded in Redis', { error });
  }
}
