import { Repeater } from 'graphql-yoga';
import type { RoomEventView } from '@chat/schemas';
import type { LiveSignal } from '../adapters/fanout.ts';

// What concerns one user across all their rooms, live: invitations, being added to a direct
// room, mentions, and changes of unread counts (messages from others, their own read markers),
// plus rooms joined and left so a client's room list follows. Derived in this process from the
// room events it receives anyway; a user channel carries the events of rooms the user is not
// in yet. No cursor: the state (myRooms, myInvitations) is always there to read again.

export type MyEvent =
  | { kind: 'invited'; roomId: string; by: string }
  | { kind: 'added'; roomId: string; by: string }
  | { kind: 'mentioned'; roomId: string; messageId: string; by: string }
  | { kind: 'unread-changed'; roomId: string }
  | { kind: 'joined'; roomId: string }
  | { kind: 'left'; roomId: string };

export interface MyEventSource {
  roomIdsOf(userId: string): Promise<string[]>;
  subscribe(roomId: string, listener: (signal: LiveSignal) => void): () => void;
  subscribeUser(userId: string, listener: (signal: LiveSignal) => void): () => void;
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
      return [{ kind: 'unread-changed', roomId }];
    case 'ReadMarkerMoved':
      return by === userId ? [{ kind: 'unread-changed', roomId }] : [];
    // Joins come on the user's own channel (see myEvents), which also covers rooms not followed yet.
    case 'MemberLeft':
    case 'MemberRemoved':
      return mine ? [{ kind: 'left', roomId }] : [];
    default:
      return [];
  }
}

export function myEvents(source: MyEventSource, userId: string): Repeater<MyEvent> {
  return new Repeater<MyEvent>(async (push, stop) => {
    const rooms = new Map<string, () => void>();
    const follow = (roomId: string) => {
      if (rooms.has(roomId)) return;
      rooms.set(
        roomId,
        source.subscribe(roomId, (signal) => {
          if (signal === 'resync') return;
          for (const event of myEventsOf(signal, userId)) {
            if (event.kind === 'left') {
              rooms.get(roomId)?.();
              rooms.delete(roomId);
            }
            void push(event);
          }
        }),
      );
    };
    // The user's channel first, so a room they are brought into meanwhile is not missed.
    const unsubscribeUser = source.subscribeUser(userId, (signal) => {
      if (signal === 'resync' || signal.data.userId !== userId) return;
      if (signal.type === 'MemberInvited') void push({ kind: 'invited', roomId: signal.roomId, by: signal.actorId });
      if (signal.type === 'MemberJoined') {
        follow(signal.roomId);
        void push(
          signal.actorId === userId
            ? { kind: 'joined', roomId: signal.roomId }
            : { kind: 'added', roomId: signal.roomId, by: signal.actorId },
        );
      }
    });
    try {
      for (const roomId of await source.roomIdsOf(userId)) follow(roomId);
    } catch (error) {
      stop(error);
    }
    await stop;
    unsubscribeUser();
    for (const unsubscribe of rooms.values()) unsubscribe();
  });
}
