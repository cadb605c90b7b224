import { evolve, initialRoomState, type RoomEvent, type RoomState } from '../domain/room.ts';

// The command side's view of every room, folded from the event log with evolve(). It also
// keeps the idempotency index: which (actor, idempotency key) produced which event, so a
// retried command gets the original answer instead of a second event.

export interface Position {
  partition: number;
  /** Kafka offset, as a decimal string (offsets are 64-bit). */
  offset: string;
}

export interface AcceptedCommand {
  eventType: RoomEvent['type'];
  roomId: string;
  eventId: string;
  position: Position;
  messageId?: string;
}

interface RoomEntry {
  state: RoomState;
  /** Offset of the last event applied; the log may deliver an event we already applied. */
  lastOffset: bigint;
}

export class RoomStore {
  private readonly rooms = new Map<string, RoomEntry>();
  private readonly accepted = new Map<string, AcceptedCommand>();

  state(roomId: string): RoomState {
    return this.rooms.get(roomId)?.state ?? initialRoomState;
  }

  acceptedCommand(actorId: string, commandId: string): AcceptedCommand | undefined {
    return this.accepted.get(idempotencyKey(actorId, commandId));
  }

  /** Applies an event at its log position; a position already applied changes nothing. */
  apply(event: RoomEvent, position: Position): void {
    const offset = BigInt(position.offset);
    const entry = this.rooms.get(event.roomId);
    if (entry && offset <= entry.lastOffset) return;
    this.rooms.set(event.roomId, { state: evolve(entry?.state ?? initialRoomState, event), lastOffset: offset });
    if (event.commandId !== null) {
      this.accepted.set(idempotencyKey(event.actorId, event.commandId), {
        eventType: event.type,
        roomId: event.roomId,
        eventId: event.eventId,
        position,
        ...(event.type === 'MessageSent' ? { messageId: event.messageId } : {}),
      });
    }
  }

  get roomCount(): number {
    return this.rooms.size;
  }
}

function idempotencyKey(actorId: string, commandId: string): string {
  return `${actorId}\u0000${commandId}`;
}
