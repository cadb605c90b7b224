import {
  evolve,
  evolveMessage,
  initialRoomState,
  reactionKeyPrefix,
  type MessageFact,
  type Role,
  type RoomEvent,
  type RoomState,
} from '../domain/room.ts';

// The command side's committed view of one partition of the room topic: every room's state,
// the idempotency index and the facts of recently active messages (author, deleted,
// reactions), folded from the log in order, up to `nextOffset`. It is what a snapshot holds,
// so its size grows with rooms, members and what happened within the window (keys, message
// activity), never with the whole history: a message untouched for longer than the window is
// looked up in the read model instead (see PartitionOwner).
//
// Message facts are stored by message id (an id names one message) and always read by room
// and id: a fact is only ever the answer for its own room (see evolveMessage).

export interface AcceptedCommand {
  eventType: RoomEvent['type'];
  eventId: string;
  offset: string;
  revision: number;
  messageId: string | null;
  occurredAt: number;
}

/**
 * The one scoping rule for idempotency keys: a key names one command of one user in one
 * room. Rooms live in partitions, so the index of a room's keys lives with the room.
 */
export function idempotencyScope(roomId: string, actorId: string, commandId: string): string {
  return `${roomId}\u0000${actorId}\u0000${commandId}`;
}

/**
 * Bumped whenever the shape below, or what it means, changes: a snapshot of another format is
 * ignored, and the log folded instead. 4: facts folded with messages belonging to their room
 * (a snapshot of 3 may hold a fact another room's forged event overwrote). 5: rooms keep their
 * retention and how far their history has expired.
 */
export const SNAPSHOT_FORMAT = 5;

/** A message fact and when its message was last active (sent, edited, deleted, reacted to). */
export type TimedFact = MessageFact & { at: number };

export interface PartitionSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  nextOffset: string;
  rooms: [roomId: string, room: SnapshotRoom][];
  keys: [scope: string, command: AcceptedCommand][];
  messages: [messageId: string, fact: Omit<TimedFact, 'reactions'> & { reactions: string[] }][];
}

type SnapshotRoom = Omit<RoomState, 'status' | 'members' | 'invited'> & { members: [string, Role][]; invited: string[] };

export class PartitionState {
  readonly rooms = new Map<string, RoomState>();
  /** In the order commands were accepted, so expiry only looks at the front. */
  readonly keys = new Map<string, AcceptedCommand>();
  /** Facts of messages active within the window, least recently active first. */
  readonly messages = new Map<string, TimedFact>();
  nextOffset = 0n;
  /** Keys accepted before this (epoch ms) are outside the idempotency window: not kept. */
  keyHorizon = 0;

  room(roomId: string): RoomState {
    return this.rooms.get(roomId) ?? initialRoomState;
  }

  /** The fact of message `messageId` of room `roomId`; undefined when unknown here or another room's. */
  fact(roomId: string, messageId: string): TimedFact | undefined {
    const fact = this.messages.get(messageId);
    return fact?.roomId === roomId ? fact : undefined;
  }

  accepted(roomId: string, actorId: string, commandId: string): AcceptedCommand | undefined {
    return this.keys.get(idempotencyScope(roomId, actorId, commandId));
  }

  /** Applies the record at `offset`; the log may hand back a record this state already holds. */
  apply(event: RoomEvent, offset: bigint): void {
    if (offset < this.nextOffset) return;
    this.nextOffset = offset + 1n;
    this.rooms.set(event.roomId, evolve(this.room(event.roomId), event));
    if (event.type === 'MemberErased') this.eraseFactsOf(event.roomId, event.userId);
    if ('messageId' in event && event.occurredAt >= this.keyHorizon) {
      const fact = evolveMessage(this.messages.get(event.messageId), event);
      this.messages.delete(event.messageId); // re-inserted at the back: most recently active last
      if (fact) this.messages.set(event.messageId, { ...fact, at: event.occurredAt });
    }
    if (event.commandId === null || event.occurredAt < this.keyHorizon) return;
    const scope = idempotencyScope(event.roomId, event.actorId, event.commandId);
    this.keys.delete(scope); // re-inserted at the back: the map stays in acceptance order
    this.keys.set(scope, {
      eventType: event.type,
      eventId: event.eventId,
      offset: String(offset),
      revision: event.revision,
      messageId: 'messageId' in event ? event.messageId : null,
      occurredAt: event.occurredAt,
    });
  }

  /**
   * A deleted account's messages in the room are deleted, and its reactions gone, as the read
   * model will have them. Rare (one event per room of one account), so a pass over the window's facts.
   */
  private eraseFactsOf(roomId: string, userId: string): void {
    const mine = reactionKeyPrefix(userId);
    for (const [messageId, fact] of this.messages) {
      if (fact.roomId !== roomId) continue;
      if (fact.author === userId) this.messages.set(messageId, { ...fact, deleted: true, reactions: new Set() });
      else if ([...fact.reactions].some((key) => key.startsWith(mine))) {
        this.messages.set(messageId, { ...fact, reactions: new Set([...fact.reactions].filter((key) => !key.startsWith(mine))) });
      }
    }
  }

  /**
   * Remembers a fact read from the read model for a message with no activity in the window,
   * so that events about it from now on evolve it here.
   */
  remember(messageId: string, fact: MessageFact, at: number): void {
    if (!this.messages.has(messageId)) this.messages.set(messageId, { ...fact, at });
  }

  /** Moves the position past records that carry no event (transaction markers, dead records). */
  advanceTo(nextOffset: bigint): void {
    if (nextOffset > this.nextOffset) this.nextOffset = nextOffset;
  }

  /** Forgets keys accepted before `oldest` (epoch ms): retries after the window are new commands. */
  expireKeys(oldest: number): number {
    this.keyHorizon = Math.max(this.keyHorizon, oldest);
    let expired = 0;
    for (const [scope, command] of this.keys) {
      if (command.occurredAt >= oldest) break;
      this.keys.delete(scope);
      expired++;
    }
    for (const [messageId, fact] of this.messages) {
      if (fact.at >= oldest) break;
      this.messages.delete(messageId);
      expired++;
    }
    return expired;
  }

  toSnapshot(): PartitionSnapshot {
    return {
      format: SNAPSHOT_FORMAT,
      nextOffset: String(this.nextOffset),
      rooms: [...this.rooms].map(([id, { status: _status, members, invited, ...room }]) => [
        id,
        { ...room, members: [...members], invited: [...invited] },
      ]),
      keys: [...this.keys],
      messages: [...this.messages].map(([id, fact]) => [id, { ...fact, reactions: [...fact.reactions] }]),
    };
  }

  static fromSnapshot(snapshot: PartitionSnapshot): PartitionState {
    const state = new PartitionState();
    state.nextOffset = BigInt(snapshot.nextOffset);
    for (const [id, room] of snapshot.rooms) {
      state.rooms.set(id, { ...room, status: 'open', members: new Map(room.members), invited: new Set(room.invited) });
    }
    for (const [scope, command] of snapshot.keys) state.keys.set(scope, command);
    for (const [id, fact] of snapshot.messages) state.messages.set(id, { ...fact, reactions: new Set(fact.reactions) });
    return state;
  }
}
