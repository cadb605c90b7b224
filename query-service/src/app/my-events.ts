import { Repeater } from 'graphql-yoga';
import type { RoomEventView } from '@chat/schemas';
import type { LiveSignal } from '../adapters/fanout.ts';

// What concerns one user across all their rooms, live: invitations, being added to a direct
// room, mentions, and changes of unread counts (messages from others, their own read markers),
// plus rooms joined and left so a client's room list follows. Derived in this process from the
// room events it receives anyway; a user channel carries the events of rooms the user is not
// in yet. No cursor: the state (myRooms, myInvitations) is always there to read again.
//
// Bounded: following a room costs a Redis channel and a listener on this instance, so
// - every myEvents subscription of one user in this process shares one follower (MyEventsHub):
//   a user's five hundred subscriptions (SUBSCRIPTIONS_PER_USER) cost one listener per room,
//   not five hundred;
// - a follower follows at most ROOMS_PER_USER rooms (the command side refuses joins past it). A user in more is refused, and a
//   join past it ends the user's myEvents on this instance, with LIMIT_REACHED (TooManyRooms):
//   never a silent stream that misses some rooms. myRooms still lists them all.
// Each instance holds this on its own, so no instance ever follows more than that many rooms
// for one user, whatever the user does on others. Why not a per-user channel instead: the
// projector would publish every message once per member (a room of ten thousand, ten thousand
// publishes), moving the unbounded work to the projector and Redis.

export type MyEvent =
  | { kind: 'invited'; roomId: string; by: string }
  | { kind: 'added'; roomId: string; by: string }
  | { kind: 'mentioned'; roomId: string; messageId: string; by: string }
  | { kind: 'unread-changed'; roomId: string }
  | { kind: 'joined'; roomId: string }
  | { kind: 'left'; roomId: string };

export interface MyEventSource {
  /** At most `limit` of the user's rooms. */
  roomIdsOf(userId: string, limit: number): Promise<string[]>;
  subscribe(roomId: string, listener: (signal: LiveSignal) => void): () => void;
  subscribeUser(userId: string, listener: (signal: LiveSignal) => void): () => void;
}

/** The user is in more rooms than myEvents follows. */
export class TooManyRooms extends Error {
  readonly limit: number;

  constructor(limit: number) {
    super(`myEvents follows at most ${limit} rooms, and you are in more; read myRooms for the rest`);
    this.limit = limit;
  }
}

/** What a room event means for `userId`, who is a member of its room. */
export function myEventsOf(event: RoomEventView, userId: string): MyEvent[] {
  const { roomId, actorId: by } = event;
  const mine = event.data.userId === userId;
  switch (event.type) {
    case 'MessageSent': {
      if (by === userId) return [];
      const mentions = (event.data.mentions ?? []) as string[];
      const messageId = String(event.data.messageId);
      return [
        { kind: 'unread-changed', roomId },
        ...(mentions.includes(userId) ? [{ kind: 'mentioned' as const, roomId, messageId, by }] : []),
      ];
    }
    case 'MessageDeleted':
    case 'RoomHistoryExpired':
      return [{ kind: 'unread-changed', roomId }];
    case 'MemberErased':
      return mine ? [{ kind: 'left', roomId }] : [{ kind: 'unread-changed', roomId }];
    case 'ReadMarkerMoved':
      return by === userId ? [{ kind: 'unread-changed', roomId }] : [];
    // Joins come on the user's own channel (see Follower), which also covers rooms not followed yet.
    case 'MemberLeft':
    case 'MemberRemoved':
      return mine ? [{ kind: 'left', roomId }] : [];
    default:
      return [];
  }
}

/** The myEvents streams of this process, one follower per user however many streams they open. */
export class MyEventsHub {
  private readonly source: MyEventSource;
  private readonly maxRooms: number;
  private readonly followers = new Map<string, Follower>();

  constructor(source: MyEventSource, maxRooms: number) {
    this.source = source;
    this.maxRooms = maxRooms;
  }

  /** `userId`'s events from now; ends with TooManyRooms when they are in more than `maxRooms`. */
  events(userId: string): Repeater<MyEvent> {
    return new Repeater<MyEvent>(async (push, stop) => {
      let follower = this.followers.get(userId);
      if (!follower || follower.closed) {
        const started: Follower = new Follower(this.source, userId, this.maxRooms, () => {
          if (this.followers.get(userId) === started) this.followers.delete(userId);
        });
        follower = started;
        this.followers.set(userId, follower);
      }
      const leave = follower.add({
        event: (event) => {
          // A reader 1,024 events behind overflows its repeater (a synchronous throw): that ends
          // its own stream, not the delivery to the user's other streams.
          try {
            void push(event);
          } catch (error) {
            stop(error);
          }
        },
        fail: (error) => stop(error),
      });
      await stop;
      leave();
    });
  }

  /** Users with a follower in this process (for tests and metrics). */
  get followedUsers(): number {
    return this.followers.size;
  }
}

interface Subscriber {
  event(event: MyEvent): void;
  fail(error: unknown): void;
}

/** One user's channel and rooms, followed once for all their myEvents streams in this process. */
class Follower {
  closed = false;
  private readonly userId: string;
  private readonly maxRooms: number;
  private readonly source: MyEventSource;
  private readonly onClose: () => void;
  private readonly rooms = new Map<string, () => void>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly unsubscribeUser: () => void;

  constructor(source: MyEventSource, userId: string, maxRooms: number, onClose: () => void) {
    this.source = source;
    this.userId = userId;
    this.maxRooms = maxRooms;
    this.onClose = onClose;
    // The user's channel first, so a room they are brought into meanwhile is not missed.
    this.unsubscribeUser = source.subscribeUser(userId, (signal) => {
      if (signal === 'resync' || signal.data.userId !== userId) return;
      if (signal.type === 'MemberInvited') this.emit({ kind: 'invited', roomId: signal.roomId, by: signal.actorId });
      if (signal.type === 'MemberJoined') {
        if (!this.follow(signal.roomId)) return;
        this.emit(
          signal.actorId === userId
            ? { kind: 'joined', roomId: signal.roomId }
            : { kind: 'added', roomId: signal.roomId, by: signal.actorId },
        );
      }
    });
    // One more than the bound, enough to know it is passed, however many rooms the user is in.
    source.roomIdsOf(userId, maxRooms + 1).then(
      (roomIds) => {
        for (const roomId of roomIds) if (!this.follow(roomId)) return;
      },
      (error: unknown) => this.fail(error),
    );
  }

  add(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.close();
    };
  }

  /** Follows a room; false (and every stream ended) when that would pass the bound. */
  private follow(roomId: string): boolean {
    if (this.closed) return false;
    if (this.rooms.has(roomId)) return true;
    if (this.rooms.size >= this.maxRooms) {
      this.fail(new TooManyRooms(this.maxRooms));
      return false;
    }
    this.rooms.set(
      roomId,
      this.source.subscribe(roomId, (signal) => {
        if (signal === 'resync') return;
        for (const event of myEventsOf(signal, this.userId)) {
          if (event.kind === 'left') this.unfollow(roomId);
          this.emit(event);
        }
      }),
    );
    return true;
  }

  private unfollow(roomId: string): void {
    this.rooms.get(roomId)?.();
    this.rooms.delete(roomId);
  }

  private emit(event: MyEvent): void {
    for (const subscriber of this.subscribers) subscriber.event(event);
  }

  private fail(error: unknown): void {
    const subscribers = [...this.subscribers];
    this.close();
    for (const subscriber of subscribers) subscriber.fail(error);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.unsubscribeUser();
    for (const unsubscribe of this.rooms.values()) unsubscribe();
    this.rooms.clear();
    this.subscribers.clear();
  }
}
