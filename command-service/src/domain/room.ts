import type { EventOf } from '@chat/schemas';
import { commandError, type CommandError } from './errors.ts';
import { LIMITS, checkId, checkText, isUuid } from './validation.ts';

// The room aggregate as a decider: decide(command, state) → events or a typed error, and
// evolve(state, event) → next state. Pure: ids and clocks arrive inside the command, and the
// envelope fields every event carries (eventId, occurredAt, actorId, commandId) are stamped
// by the command handler, not here. The revision is the room's own: decide hands out the
// next ones, so a room's events are numbered 1, 2, 3… with no gaps, by its single writer.

export interface RoomState {
  status: 'absent' | 'open';
  name: string;
  members: ReadonlySet<string>;
  /** Revision of the last event applied; 0 for a room that does not exist yet. */
  revision: number;
}

export const initialRoomState: RoomState = { status: 'absent', name: '', members: new Set(), revision: 0 };

interface CommandBase {
  roomId: string;
  actorId: string;
  /** The client's idempotency key, where there is one. */
  commandId: string | null;
  /** Optimistic concurrency: the revision the client last saw; a mismatch is a CONFLICT. */
  expectedRevision?: number | null;
}

export type RoomCommand =
  | ({ type: 'CreateRoom'; name: string } & CommandBase)
  | ({ type: 'JoinRoom' } & CommandBase)
  | ({ type: 'SendMessage'; messageId: string; body: string } & CommandBase);

type Envelope = 'eventId' | 'occurredAt' | 'actorId' | 'commandId';
type Unstamped<E> = E extends unknown ? Omit<E, Envelope> : never;

export type RoomEvent = EventOf<'RoomCreated'> | EventOf<'MemberJoined'> | EventOf<'MessageSent'>;
export type DecidedEvent = Unstamped<RoomEvent>;
type Unnumbered = DecidedEvent extends infer E ? (E extends unknown ? Omit<E, 'revision'> : never) : never;

export type Decision = { ok: true; events: DecidedEvent[] } | { ok: false; error: CommandError };

/** Which event records that a command was accepted: the idempotency index keys on it. */
export const EVENT_OF_COMMAND = {
  CreateRoom: 'RoomCreated',
  JoinRoom: 'MemberJoined',
  SendMessage: 'MessageSent',
} as const satisfies Record<RoomCommand['type'], RoomEvent['type']>;

const reject = (error: CommandError): Decision => ({ ok: false, error });

/** Everything about a command that does not depend on the room's state. */
export function checkCommand(command: RoomCommand): CommandError | undefined {
  if (!isUuid(command.roomId)) return commandError('INVALID_INPUT', 'roomId must be a UUID');
  const actorError = checkId('user id', command.actorId);
  if (actorError) return actorError;
  if (command.commandId !== null) {
    const keyError = checkId(command.type === 'SendMessage' ? 'clientMessageId' : 'commandId', command.commandId);
    if (keyError) return keyError;
  }
  const expected = command.expectedRevision;
  if (expected != null && (!Number.isSafeInteger(expected) || expected < 0)) {
    return commandError('INVALID_INPUT', 'expectedRevision must be a revision (0 or more)');
  }
  switch (command.type) {
    case 'CreateRoom':
      return checkText('name', command.name, { max: LIMITS.roomName });
    case 'JoinRoom':
      return undefined;
    case 'SendMessage':
      if (command.commandId === null) return commandError('INVALID_INPUT', 'clientMessageId is required');
      return checkText('body', command.body, { max: LIMITS.messageBody, multiline: true });
  }
}

export function decide(command: RoomCommand, state: RoomState): Decision {
  const invalid = checkCommand(command);
  if (invalid) return reject(invalid);
  if (command.expectedRevision != null && command.expectedRevision !== state.revision) {
    return reject({
      ...commandError('CONFLICT', `the room is at revision ${state.revision}, not ${command.expectedRevision}`),
      currentRevision: state.revision,
    });
  }
  let revision = state.revision;
  const accept = (...events: Unnumbered[]): Decision => ({
    ok: true,
    events: events.map((event) => ({ ...event, revision: ++revision })),
  });

  switch (command.type) {
    case 'CreateRoom':
      if (state.status !== 'absent') return reject(commandError('ROOM_ALREADY_EXISTS', 'the room already exists'));
      return accept({ type: 'RoomCreated', roomId: command.roomId, name: command.name.trim() });
    case 'JoinRoom':
      if (state.status === 'absent') return reject(commandError('ROOM_NOT_FOUND', 'no such room'));
      // Joining twice is not an error: the member is where they asked to be.
      if (state.members.has(command.actorId)) return accept();
      return accept({ type: 'MemberJoined', roomId: command.roomId, userId: command.actorId });
    case 'SendMessage':
      if (state.status === 'absent') return reject(commandError('ROOM_NOT_FOUND', 'no such room'));
      if (!state.members.has(command.actorId)) return reject(commandError('NOT_A_MEMBER', 'join the room before sending to it'));
      return accept({ type: 'MessageSent', roomId: command.roomId, messageId: command.messageId, body: command.body });
  }
}

export function evolve(state: RoomState, event: RoomEvent): RoomState {
  switch (event.type) {
    case 'RoomCreated':
      // The creator is the room's first member.
      return { status: 'open', name: event.name, members: new Set([event.actorId]), revision: event.revision };
    case 'MemberJoined':
      if (state.members.has(event.userId)) return { ...state, revision: event.revision };
      return { ...state, members: new Set([...state.members, event.userId]), revision: event.revision };
    case 'MessageSent':
      return { ...state, revision: event.revision };
  }
}
