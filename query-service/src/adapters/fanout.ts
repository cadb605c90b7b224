import { redisMessagesReceived } from '@chat/platform';
import type { Redis } from 'ioredis';
import type { Logger } from '@chat/platform';
import { deliverInTrace } from './live-trace.ts';
import { typingChannel, type TypingSignal } from './typing.ts';
import { roomChannel, userChannel, type LiveNotification, type RoomEventView } from '@chat/schemas';

// One Redis connection per process, subscribed to the channels of the rooms and users it has
// listeners for (and no others: an instance receives only its own rooms' traffic), fanned
// out in memory to every subscription of a room or a user, so a thousand subscribers cost one
// Redis connection and one channel per room, not a thousand.
//
// A channel's first listener subscribes it; what was published before Redis confirmed the
// subscription is recovered by a resync of that room once it has (its listeners re-read from
// their cursors). After a Redis reconnect, `onReconnect` decides which rooms need one, in a
// single statement for all of them (see LostNotificationSweep.resyncBehind), rather than
// every subscription querying on its own.

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
  /** Rooms to check after a Redis reconnect (set by whoever can read their revisions). */
  onReconnect: () => void = () => {
    for (const roomId of this.listeners.keys()) this.resyncRoom(roomId, 0);
  };

  constructor(redis: Redis, prefix: string, log: Logger) {
    this.redis = redis;
    this.prefix = prefix;
    this.log = log;
  }

  async start(): Promise<void> {
    this.redis.on('message', (channel: string, payload: string) => {
      redisMessagesReceived.inc();
      this.dispatch(channel, payload);
    });
    // ioredis subscribes its channels again on reconnect by itself; what was published while
    // the connection was down is re-read from Postgres.
    let connectedBefore = false;
    this.redis.on('ready', () => {
      if (!connectedBefore) return void (connectedBefore = true);
      this.onReconnect();
      for (const set of this.userListeners.values()) for (const listener of set) listener('resync');
    });
    if (this.redis.status !== 'ready') await new Promise((resolve) => this.redis.once('ready', resolve));
    connectedBefore = true;
  }

  /** Every event of a room. */
  subscribe(roomId: string, listener: Listener): () => void {
    const stop = this.listen(this.listeners, roomId, roomChannel(this.prefix, roomId), listener, () => this.resyncRoom(roomId, 0));
    return () => {
      stop();
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
    return this.listen(this.userListeners, userId, userChannel(this.prefix, userId), listener, () => {
      for (const l of this.userListeners.get(userId) ?? []) l('resync');
    });
  }

  /** Typing signals of a room (ephemeral: nothing to recover). */
  subscribeTyping(roomId: string, listener: (signal: TypingSignal) => void): () => void {
    return this.listen(this.typingListeners, roomId, typingChannel(this.prefix, roomId), listener, () => undefined);
  }

  private listen<L>(registry: Map<string, Set<L>>, key: string, channel: string, listener: L, joined: () => void): () => void {
    const first = !registry.has(key);
    const remove = add(registry, key, listener);
    if (first) this.join(channel, joined);
    return () => {
      remove();
      if (!registry.has(key)) this.leave(channel);
    };
  }

  /** Commands on one connection run in order, so a quick leave and join again ends subscribed. */
  private join(channel: string, joined: () => void): void {
    this.redis.subscribe(channel).then(joined, (error: unknown) => {
      // ioredis subscribes it again on reconnect, and the sweep recovers what is missed meanwhile.
      this.log.warn('cannot subscribe to a channel yet', { channel, error });
    });
  }

  private leave(channel: string): void {
    this.redis.unsubscribe(channel).catch((error: unknown) => this.log.debug('unsubscribing failed', { channel, error }));
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
      deliverInTrace(notification, channel, set.size, () => {
        // In the delivery's trace, so a line found in a log shipper finds the message's whole way here.
        this.log.debug('delivering a live event', { channel, type: notification.event.type, subscribers: set.size });
        for (const listener of set) listener(notification.event);
      });
    }
  }

  private noteHeard(roomId: string, revision: number): void {
    if (this.listeners.has(roomId) && revision > this.heardRevision(roomId)) this.heard.set(roomId, revision);
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
