import type { Redis } from 'ioredis';
import type { Logger } from '@chat/platform';
import { roomChannelPattern, userChannelPattern, type LiveNotification, type RoomEventView } from '@chat/schemas';

// One Redis connection per process with two pattern subscriptions (rooms, users), fanned out
// in memory to every subscription of a room or a user, so a thousand subscribers cost one
// Redis connection, not a thousand.

/** A room event as it happens, or 'resync' after Redis reconnected and notifications may have been missed. */
export type LiveSignal = RoomEventView | 'resync';
export type Listener = (signal: LiveSignal) => void;

export class RoomFanout {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly userListeners = new Map<string, Set<Listener>>();
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
    await this.redis.psubscribe(roomChannelPattern(this.prefix), userChannelPattern(this.prefix));
  }

  /** Every event of a room. */
  subscribe(roomId: string, listener: Listener): () => void {
    return add(this.listeners, roomId, listener);
  }

  /** Events that bring a user into a room they are not in yet (invitations, direct rooms). */
  subscribeUser(userId: string, listener: Listener): () => void {
    return add(this.userListeners, userId, listener);
  }

  private dispatch(channel: string, payload: string): void {
    const userPrefix = `${this.prefix}user:`;
    const set = channel.startsWith(userPrefix)
      ? this.userListeners.get(channel.slice(userPrefix.length))
      : this.listeners.get(channel.slice(`${this.prefix}room:`.length));
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
    for (const set of this.userListeners.values()) for (const listener of set) listener(signal);
  }
}

function add(registry: Map<string, Set<Listener>>, key: string, listener: Listener): () => void {
  const set = registry.get(key) ?? new Set();
  registry.set(key, set);
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) registry.delete(key);
  };
}
