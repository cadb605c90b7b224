import type { Redis } from 'ioredis';

// Who is typing in a room: ephemeral, in Redis only (never Kafka). Each "I am typing" keeps a
// member in the room's sorted set for a few seconds (score: until when) and is announced on
// the room's typing channel, which every query-service instance hears through its fan-out.

export const TYPING_MS = 5000;

export function typingChannel(prefix: string, roomId: string): string {
  return `${prefix}typing:${roomId}`;
}

export interface TypingSignal {
  roomId: string;
  userId: string;
  /** epoch ms; 0 when the user stopped typing. */
  until: number;
}

export class TypingStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  /** Marks `userId` as typing in `roomId` for TYPING_MS (or stopped), and tells every instance. */
  async set(roomId: string, userId: string, typing: boolean, now = Date.now()): Promise<number> {
    const until = typing ? now + TYPING_MS : 0;
    const key = this.key(roomId);
    const signal: TypingSignal = { roomId, userId, until };
    await this.redis
      .multi()
      .zremrangebyscore(key, '-inf', now)
      .zadd(key, until || now, userId)
      .pexpire(key, TYPING_MS * 2)
      .publish(typingChannel(this.prefix, roomId), JSON.stringify(signal))
      .exec();
    return until;
  }

  /** Who is typing in `roomId` now, with until when. */
  async current(roomId: string, now = Date.now()): Promise<Map<string, number>> {
    const flat = await this.redis.zrangebyscore(this.key(roomId), now + 1, '+inf', 'WITHSCORES');
    const typing = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) typing.set(flat[i]!, Number(flat[i + 1]));
    return typing;
  }

  private key(roomId: string): string {
    return `${this.prefix}typing-now:${roomId}`;
  }
}
