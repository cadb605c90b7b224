import { decide, evolve, initialRoomState, type RoomCommand, type RoomEvent, type RoomState } from '../src/domain/room.ts';

// The room decider's tests' shorthand: a decision's events as the log would hold them, and the
// state a list of commands leaves (each must be accepted).

export function stamp(decision: ReturnType<typeof decide>, actorId: string): RoomEvent[] {
  if (!decision.ok) throw new Error(decision.error.message);
  return decision.events.map((e, i) => ({ ...e, eventId: `e${i}`, occurredAt: 1, actorId, commandId: null }) as RoomEvent);
}

export function given(...commands: RoomCommand[]): RoomState {
  return commands.reduce((state, command) => stamp(decide(command, state), command.actorId).reduce(evolve, state), initialRoomState);
}
