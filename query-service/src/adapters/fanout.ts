import type { Redis } from 'ioredis';
import type { Logger } from '@chat/platform';
import { roomChannelPattern, type LiveNotification, type RoomEventView } from '@chat/schemas';

// One Redis PSUBSCRIBE per process, fanned out in memory to every subscription of a room,
// so a thousand subscribers cost one Redis connection, not a thousand.

/** A room event as it happens, or 'resync' after Redis reconnected and notifications may have been missed. */
export type LiveSignal = RoomEventView | 'resync';
export type Listener = (signal: LiveSignal) => void;

export class RoomFanout {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly log: Logger;

  constructor(redis: Redis, prefix: string, log: Logger) {
    this.redis = redis;
    this.prefix = prefix;
    this.log = log;
  }

  async start(): Promise<void> {
    this.redis.on('pmessage', (_pattern: string, channel: string, payload: string) => this.dispatch(channel, payload));
    // ioredis re-subscribes on reconnect by itself; subscribers then re-read from Postgres
    // whatever was published while the connection was down.
    this.redis.on('ready', () => this.broadcast('resync'));
    await this.redis.psubscribe(roomChannelPattern(this.prefix));
  }

  subscribe(roomId: string, listener: Listener): () => void {
    const set = this.listeners.get(roomId) ?? new Set();
    this.listeners.set(roomId, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(roomId);
    };
  }

  private dispatch(channel: string, payload: string): void {
    const roomId = channel.slice(`${this.prefix}room:`.length);
    const set = this.listeners.get(roomId);
    if (!set) return;
    let notification: LiveNotification;
    try {
      notification = JSON.parse(payload) as LiveNotification;
    } catch (error) {
      this.log.warn('ignoring a malformed notification', { channel, error });
      return;
    }
    if (notification.kind !== 'room-event') return;
    for (const listener of set) listener(notification.event);
  }

  private broadcast(signal: LiveSignal): void {
    for (const set of this.listeners.values()) for (const listener of set) listener(signal);
  }
}
