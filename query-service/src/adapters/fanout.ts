import type { Redis } from 'ioredis';
import type { Logger } from '@chat/platform';
import { typingChannel, type TypingSignal } from './typing.ts';
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
  private readonly typingListeners = new Map<string, Set<(signal: TypingSignal) => void>>();
  /** The highest revision a notification brought, per room with listeners (for the lost-notification sweep). */
  private readonly heard = new Map<string, number>();
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
    await this.redis.psubscribe(roomChannelPattern(this.prefix), userChannelPattern(this.prefix), typingChannel(this.prefix, '*'));
  }

  /** Every event of a room. */
  subscribe(roomId: string, listener: Listener): () => void {
    const remove = add(this.listeners, roomId, listener);
    return () => {
      remove();
      if (!this.listeners.has(roomId)) this.heard.delete(roomId);
    };
  }

  /** Rooms with at least one listener in this process. */
  watchedRooms(): string[] {
    return [...this.listeners.keys()];
  }

  /** The highest revision heard of a watched room, or 0 when none was. */
  heardRevision(roomId: string): number {
    return this.heard.get(roomId) ?? 0;
  }

  /** Tells a room's listeners that notifications up to `revision` may have been lost: they re-read from Postgres. */
  resyncRoom(roomId: string, revision: number): void {
    const set = this.listeners.get(roomId);
    if (!set) return;
    this.noteHeard(roomId, revision);
    for (const listener of set) listener('resync');
  }

  /** Events that bring a user into a room they are not in yet (invitations, direct rooms). */
  subscribeUser(userId: string, listener: Listener): () => void {
    return add(this.userListeners, userId, listener);
  }

  /** Typing signals of a room. */
  subscribeTyping(roomId: string, listener: (signal: TypingSignal) => void): () => void {
    return add(this.typingListeners, roomId, listener);
  }

  private dispatch(channel: string, payload: string): void {
    const typingPrefix = typingChannel(this.prefix, '');
    if (channel.startsWith(typingPrefix)) {
      const listeners = this.typingListeners.get(channel.slice(typingPrefix.length));
      if (!listeners) return;
      try {
        const signal = JSON.parse(payload) as TypingSignal;
        for (const listener of listeners) listener(signal);
      } catch (error) {
        this.log.warn('ignoring a malformed typing signal', { channel, error });
      }
      return;
    }
    const userPrefix = `${this.prefix}user:`;
    const set = channel.startsWith(userPrefix)
      ? this.userListeners.get(channel.slice(userPrefix.length))
      : this.listeners.get(channel.slice(`${this.prefix}room:`.length));
    if (!set) return;
    let notifications: LiveNotification[];
    try {
      notifications = JSON.parse(payload) as LiveNotification[];
      if (!Array.isArray(notifications)) throw new Error('not an array of notifications');
    } catch (error) {
      this.log.warn('ignoring a malformed notification', { channel, error });
      return;
    }
    for (const notification of notifications) {
      if (notification.kind !== 'room-event') continue;
      if (!notification.forUser) this.noteHeard(notification.event.roomId, notification.event.revision);
      for (const listener of set) listener(notification.event);
    }
  }

  private noteHeard(roomId: string, revision: number): void {
    if (this.listeners.has(roomId) && revision > this.heardRevision(roomId)) this.heard.set(roomId, revision);
  }

  private broadcast(signal: LiveSignal): void {
    for (const set of this.listeners.values()) for (const listener of set) listener(signal);
    for (const set of this.userListeners.values()) for (const listener of set) listener(signal);
  }
}

function add<L>(registry: Map<string, Set<L>>, key: string, listener: L): () => void {
  const set = registry.get(key) ?? new Set();
  registry.set(key, set);
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) registry.delete(key);
  };
}
