import type { EventOf } from '@chat/schemas';
import { commandError, type CommandError } from './errors.ts';
import { LIMITS, checkIdempotencyKey, checkText, isUuid } from './validation.ts';

// The room aggregate as a decider: decide(command, state) → events or a typed error, and
// evolve(state, event) → next state. Pure: ids and clocks arrive inside the command, and the
// envelope fields every event carries (eventId, occurredAt, actorId, commandId) are stamped
// by the command handler, not here.

export interface RoomState {
  status: 'absent' | 'open';
  name: string;
  members: ReadonlySet<string>;
}

export const initialRoomState: RoomState = { status: 'absent', name: '', members: new Set() };

interface CommandBase {
  roomId: string;
  actorId: string;
  /** The client's idempotency key, where there is one. */
  commandId: string | null;
}

export type RoomCommand =
  | ({ type: 'CreateRoom'; name: string } & CommandBase)
  | ({ type: 'JoinRoom' } & CommandBase)
  | ({ type: 'SendMessage'; messageId: string; body: string } & CommandBase);

type Envelope = 'eventId' | 'occurredAt' | 'actorId' | 'commandId';
type Unstamped<E> = E extends unknown ? Omit<E, Envelope> : never;

export type RoomEvent = EventOf<'RoomCreated'> | EventOf<'MemberJoined'> | EventOf<'MessageSent'>;
export type DecidedEvent = Unstamped<RoomEvent>;

export type Decision = { ok: true; events: DecidedEvent[] } | { ok: false; error: CommandError };

/** Which event records that a command was accepted: the idempotency index keys on it. */
export const EVENT_OF_COMMAND = {
  CreateRoom: 'RoomCreated',
  JoinRoom: 'MemberJoined',
  SendMessage: 'MessageSent',
} as const satisfies Record<RoomCommand['type'], RoomEvent['type']>;

const accept = (...events: DecidedEvent[]): Decision => ({ ok: true, events });
const reject = (error: CommandError): Decision => ({ ok: false, error });

export function decide(command: RoomCommand, state: RoomState): Decision {
  if (!isUuid(command.roomId)) return reject(commandError('INVALID_INPUT', 'roomId must be a UUID'));
  const keyError = checkIdempotencyKey(command.type === 'SendMessage' ? 'clientMessageId' : 'commandId', command.commandId);
  if (keyError) return reject(keyError);

  switch (command.type) {
    case 'CreateRoom': {
      if (state.status !== 'absent') return reject(commandError('ROOM_ALREADY_EXISTS', 'the room already exists'));
      const invalid = checkText('name', command.name, LIMITS.roomName);
      if (invalid) return reject(invalid);
      return accept({ type: 'RoomCreated', roomId: command.roomId, name: command.name.trim() });
    }
    case 'JoinRoom': {
      if (state.status === 'absent') return reject(commandError('ROOM_NOT_FOUND', 'no such room'));
      // Joining twice is not an error: the member is where they asked to be.
      if (state.members.has(command.actorId)) return accept();
      return accept({ type: 'MemberJoined', roomId: command.roomId, userId: command.actorId });
    }
    case 'SendMessage': {
      if (state.status === 'absent') return reject(commandError('ROOM_NOT_FOUND', 'no such room'));
      if (!state.members.has(command.actorId)) return reject(commandError('NOT_A_MEMBER', 'join the room before sending to it'));
      if (command.commandId === null) return reject(commandError('INVALID_INPUT', 'clientMessageId is required'));
      const invalid = checkText('body', command.body, LIMITS.messageBody);
      if (invalid) return reject(invalid);
      return accept({ type: 'MessageSent', roomId: command.roomId, messageId: command.messageId, body: command.body });
    }
  }
}

export function evolve(state: RoomState, event: RoomEvent): RoomState {
  switch (event.type) {
    case 'RoomCreated':
      // The creator is the room's first member.
      return { status: 'open', name: event.name, members: new Set([event.actorId]) };
    case 'MemberJoined':
      if (state.members.has(event.userId)) return state;
      return { ...state, members: new Set([...state.members, event.userId]) };
    case 'MessageSent':
      return state;
  }
}
