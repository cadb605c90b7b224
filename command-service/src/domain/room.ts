import { mentionedNames, type Attachment, type EventOf } from '@chat/schemas';
import { commandError, type CommandError } from './errors.ts';
import { createdRoomId, directRoomId } from './room-ids.ts';
import { LIMITS, checkId, checkText, isUuid } from './validation.ts';

// The room aggregate as a decider: decide(command, state) → events or a typed error, and
// evolve(state, event) → next state. Pure: ids and clocks arrive inside the command, and the
// envelope fields every event carries (eventId, occurredAt, actorId, commandId) are stamped
// by the command handler, not here. The revision is the room's own: decide hands out the
// next ones, so a room's events are numbered 1, 2, 3… with no gaps, by its single writer,
// and every rule below is decided in that order whatever the timing of the requests.
//
// Rules: a group room has at least one owner while it has members (whoever joins an emptied
// room owns it); owners and admins rename,
// set the topic, invite and remove (an admin removes members only); only owners change roles.
// A private room is joined by invitation; a direct room holds its two users and nobody else.
//
// A message belongs to its room: its id names one message, of the room that first sent it.
// A SendMessage reusing a known id is refused, and a command on a message of another room is
// refused as MESSAGE_NOT_FOUND, so no command of one room can reach another room's message.

export const ROLES = ['OWNER', 'ADMIN', 'MEMBER'] as const;
export type Role = (typeof ROLES)[number];
/** How a message body is meant to be shown. */
export const MESSAGE_FORMATS = ['PLAIN', 'MARKDOWN'] as const;
export type MessageFormat = (typeof MESSAGE_FORMATS)[number];
export const VISIBILITIES = ['PUBLIC', 'PRIVATE'] as const;

/**
 * Caps on what one message may gather, refused as LIMIT_REACHED. Every reaction and mention is
 * a row, a live notification and part of every read of the message, so none may grow without
 * bound at one user's will.
 */
export const MESSAGE_CAPS = {
  /** Distinct emojis one user may have on one message: far past any real use, small enough that one user cannot fill the message's list. */
  reactionsPerUser: 20,
  /** Distinct emojis on one message: what a reaction bar can show, and what every read of the message returns at most. */
  emojisPerMessage: 50,
  /** Distinct @names in one message: a large team call-out; each is a row and a notification to someone. */
  mentionsPerMessage: 50,
} as const;
export type Visibility = (typeof VISIBILITIES)[number];
export type RoomKind = 'GROUP' | 'DIRECT';

export interface RoomState {
  status: 'absent' | 'open';
  kind: RoomKind;
  visibility: Visibility;
  name: string;
  topic: string | null;
  /** Members and their roles. */
  members: ReadonlyMap<string, Role>;
  /** Users invited and not yet joined. */
  invited: ReadonlySet<string>;
  /** Days of history the room keeps (RETENTION_DAYS); null keeps everything. */
  retentionDays: number | null;
  /** Messages sent before this (epoch ms) have expired already; 0 when none have. */
  expiredBefore: number;
  /** Revision of the last event applied; 0 for a room that does not exist yet. */
  revision: number;
}

/** How long a room may keep its history: a day to ten years. */
export const RETENTION_DAYS = { min: 1, max: 3650 } as const;

/** Who expires a room's history: the retention sweep of the room's owner instance, never a user (user ids are UUIDs). */
export const RETENTION_ACTOR = 'retention';

const DAY_MS = 86_400_000;

/** Where a room's retention of `days` days puts the expiry at `now`: the start of the UTC day `days` days ago. */
export function expiryCutoff(days: number, now: number): number {
  return (Math.floor(now / DAY_MS) - days) * DAY_MS;
}

export const initialRoomState: RoomState = {
  status: 'absent',
  kind: 'GROUP',
  visibility: 'PUBLIC',
  name: '',
  topic: null,
  members: new Map(),
  invited: new Set(),
  retentionDays: null,
  expiredBefore: 0,
  revision: 0,
};

interface CommandBase {
  roomId: string;
  actorId: string;
  /** The client's idempotency key, where there is one. */
  commandId: string | null;
  /** Optimistic concurrency: the revision the client last saw; a mismatch is a CONFLICT. */
  expectedRevision?: number | null;
}

export type RoomCommand =
  | ({ type: 'CreateRoom'; name: string; topic: string | null; visibility: Visibility } & CommandBase)
  | ({ type: 'OpenDirect'; peerId: string } & CommandBase)
  | ({ type: 'RenameRoom'; name: string } & CommandBase)
  | ({ type: 'SetRoomTopic'; topic: string | null } & CommandBase)
  | ({ type: 'JoinRoom' } & CommandBase)
  | ({ type: 'InviteMember'; userId: string } & CommandBase)
  | ({ type: 'RemoveMember'; userId: string } & CommandBase)
  | ({ type: 'LeaveRoom' } & CommandBase)
  | ({ type: 'SetMemberRole'; userId: string; role: Role } & CommandBase)
  | ({
      type: 'SendMessage';
      messageId: string;
      body: string;
      replyTo: string | null;
      format: MessageFormat;
      /** Uploads checked at the door (their bytes sniffed, images scaled): see app/attachments.ts. */
      attachments: Attachment[];
    } & CommandBase)
  | ({ type: 'EditMessage'; messageId: string; body: string } & CommandBase)
  | ({ type: 'DeleteMessage'; messageId: string } & CommandBase)
  | ({ type: 'AddReaction'; messageId: string; emoji: string } & CommandBase)
  | ({ type: 'RemoveReaction'; messageId: string; emoji: string } & CommandBase)
  | ({ type: 'MarkRead'; upTo: number } & CommandBase)
  /**
   * The actor, deleting their account, leaves the room with what they wrote. Issued by the
   * account deletion (app/accounts.ts) with the time their keys were erased, never by a client.
   */
  | ({ type: 'EraseMember'; erasedAt: number } & CommandBase)
  | ({ type: 'SetRoomRetention'; days: number | null } & CommandBase)
  /** Issued by the retention sweep (app/retention.ts) once the keys of what it expires are erased; never by a client. */
  | ({ type: 'ExpireHistory'; before: number; erasedAt: number } & CommandBase);

/**
 * What the command side knows of one message: enough to decide replies, edits, deletes and
 * reactions. Kept per partition beside the room states (see PartitionState), not inside them.
 */
export interface MessageFact {
  roomId: string;
  author: string;
  deleted: boolean;
  /** `reactionKey(user, emoji)` of every reaction on it. */
  reactions: ReadonlySet<string>;
}

export function reactionKey(userId: string, emoji: string): string {
  return `${reactionKeyPrefix(userId)}${emoji}`;
}

/** What every `reactionKey` of one user starts with. */
export function reactionKeyPrefix(userId: string): string {
  return `${userId}\u0000`;
}

type Envelope = 'eventId' | 'occurredAt' | 'actorId' | 'commandId';
type Unstamped<E> = E extends unknown ? Omit<E, Envelope> : never;

export type RoomEvent =
  | EventOf<'RoomCreated'>
  | EventOf<'RoomRenamed'>
  | EventOf<'RoomTopicChanged'>
  | EventOf<'MemberInvited'>
  | EventOf<'MemberJoined'>
  | EventOf<'MemberLeft'>
  | EventOf<'MemberRemoved'>
  | EventOf<'MemberRoleChanged'>
  | EventOf<'MessageSent'>
  | EventOf<'MessageEdited'>
  | EventOf<'MessageDeleted'>
  | EventOf<'ReactionAdded'>
  | EventOf<'ReactionRemoved'>
  | EventOf<'ReadMarkerMoved'>
  | EventOf<'MemberErased'>
  | EventOf<'RoomRetentionSet'>
  | EventOf<'RoomHistoryExpired'>;
export type DecidedEvent = Unstamped<RoomEvent>;
type Unnumbered = DecidedEvent extends infer E ? (E extends unknown ? Omit<E, 'revision'> : never) : never;

export type Decision = { ok: true; events: DecidedEvent[] } | { ok: false; error: CommandError };

/** Which event records that a command was accepted: the idempotency index keys on it. */
export const EVENT_OF_COMMAND = {
  CreateRoom: 'RoomCreated',
  // Its last event: a command's receipt names the last event it appended.
  OpenDirect: 'MemberJoined',
  RenameRoom: 'RoomRenamed',
  SetRoomTopic: 'RoomTopicChanged',
  JoinRoom: 'MemberJoined',
  InviteMember: 'MemberInvited',
  RemoveMember: 'MemberRemoved',
  LeaveRoom: 'MemberLeft',
  SetMemberRole: 'MemberRoleChanged',
  SendMessage: 'MessageSent',
  EditMessage: 'MessageEdited',
  DeleteMessage: 'MessageDeleted',
  AddReaction: 'ReactionAdded',
  RemoveReaction: 'ReactionRemoved',
  MarkRead: 'ReadMarkerMoved',
  EraseMember: 'MemberErased',
  SetRoomRetention: 'RoomRetentionSet',
  ExpireHistory: 'RoomHistoryExpired',
} as const satisfies Record<RoomCommand['type'], RoomEvent['type']>;

export const ROOM_COMMAND_TYPES = Object.keys(EVENT_OF_COMMAND) as RoomCommand['type'][];

const reject = (error: CommandError): Decision => ({ ok: false, error });
const forbidden = (message: string) => reject(commandError('FORBIDDEN', message));

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
      // The server derives the id from the creator and the idempotency key (which it supplies
      // when the client gives none); one naming any other room is forged, whoever sent it.
      if (command.commandId === null || command.roomId !== createdRoomId(command.actorId, command.commandId)) {
        return commandError('INVALID_INPUT', 'roomId is not the room this creator and key make');
      }
      return (
        checkText('name', command.name, { max: LIMITS.roomName }) ??
        checkTopic(command.topic) ??
        (VISIBILITIES.includes(command.visibility) ? undefined : commandError('INVALID_INPUT', 'visibility must be PUBLIC or PRIVATE'))
      );
    case 'OpenDirect':
      if (!isUuid(command.peerId)) return commandError('INVALID_INPUT', 'userId must be a UUID');
      if (command.peerId === command.actorId) return commandError('INVALID_INPUT', 'a direct room needs another user');
      // The server derives the id; one naming another room is forged, whoever sent it.
      if (command.roomId !== directRoomId(command.actorId, command.peerId)) {
        return commandError('INVALID_INPUT', 'roomId is not the direct room of these two users');
      }
      return undefined;
    case 'RenameRoom':
      return checkText('name', command.name, { max: LIMITS.roomName });
    case 'SetRoomTopic':
      return checkTopic(command.topic);
    case 'JoinRoom':
    case 'LeaveRoom':
      return undefined;
    case 'InviteMember':
    case 'RemoveMember':
      return isUuid(command.userId) ? undefined : commandError('INVALID_INPUT', 'userId must be a UUID');
    case 'SetMemberRole':
      if (!isUuid(command.userId)) return commandError('INVALID_INPUT', 'userId must be a UUID');
      return ROLES.includes(command.role) ? undefined : commandError('INVALID_INPUT', 'role must be OWNER, ADMIN or MEMBER');
    case 'SendMessage':
      if (command.commandId === null) return commandError('INVALID_INPUT', 'clientMessageId is required');
      if (!isUuid(command.messageId)) return commandError('INVALID_INPUT', 'messageId must be a UUID');
      if (command.replyTo !== null && !isUuid(command.replyTo)) return commandError('INVALID_INPUT', 'replyTo must be a message id');
      if (!MESSAGE_FORMATS.includes(command.format)) return commandError('INVALID_INPUT', 'format must be PLAIN or MARKDOWN');
      if (command.attachments.some((a) => !isUuid(a.attachmentId))) return commandError('INVALID_INPUT', 'an attachment id must be a UUID');
      // Files alone make a message: its text may then be empty.
      return command.body === '' && command.attachments.length > 0 ? undefined : checkBody(command.body);
    case 'EditMessage':
      if (!isUuid(command.messageId)) return commandError('INVALID_INPUT', 'messageId must be a UUID');
      return checkBody(command.body);
    case 'DeleteMessage':
      return isUuid(command.messageId) ? undefined : commandError('INVALID_INPUT', 'messageId must be a UUID');
    case 'AddReaction':
    case 'RemoveReaction':
      if (!isUuid(command.messageId)) return commandError('INVALID_INPUT', 'messageId must be a UUID');
      return isEmoji(command.emoji) ? undefined : commandError('INVALID_INPUT', 'emoji must be one emoji');
    case 'MarkRead':
      return Number.isSafeInteger(command.upTo) && command.upTo >= 0
        ? undefined
        : commandError('INVALID_INPUT', 'upTo must be a message sequence');
    case 'EraseMember':
      return isTime(command.erasedAt) ? undefined : commandError('INVALID_INPUT', 'erasedAt must be a time');
    case 'SetRoomRetention': {
      const { days } = command;
      if (days === null || (Number.isSafeInteger(days) && days >= RETENTION_DAYS.min && days <= RETENTION_DAYS.max)) return undefined;
      return commandError('INVALID_INPUT', `days must be ${RETENTION_DAYS.min} to ${RETENTION_DAYS.max}, or null to keep everything`);
    }
    case 'ExpireHistory':
      return isTime(command.before) && isTime(command.erasedAt)
        ? undefined
        : commandError('INVALID_INPUT', 'before and erasedAt must be times');
  }
}

function isTime(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

// One RGI emoji: a single emoji, a skin-tone or ZWJ sequence, a flag, a keycap. Nothing else.
const EMOJI = /^\p{RGI_Emoji}$/v;

export function isEmoji(value: string): boolean {
  return value.length <= 32 && EMOJI.test(value);
}

/** The message a command is about (its target, or the one it replies to), which the caller looks up before deciding. */
export function targetOf(command: RoomCommand): string | null {
  switch (command.type) {
    case 'SendMessage':
      return command.replyTo;
    case 'EditMessage':
    case 'DeleteMessage':
    case 'AddReaction':
    case 'RemoveReaction':
      return command.messageId;
    default:
      return null;
  }
}

/** A message body: text, and no more mentions than the cap (an edit too, so no body ever holds more). */
function checkBody(body: string): CommandError | undefined {
  const invalid = checkText('body', body, { max: LIMITS.messageBody, multiline: true });
  if (invalid) return invalid;
  if (mentionedNames(body).length > MESSAGE_CAPS.mentionsPerMessage) {
    return commandError('LIMIT_REACHED', `a message mentions at most ${MESSAGE_CAPS.mentionsPerMessage} users`);
  }
  return undefined;
}

function checkTopic(topic: string | null): CommandError | undefined {
  return topic === null ? undefined : checkText('topic', topic, { max: LIMITS.roomTopic, multiline: true });
}

/**
 * `target`: the fact of the message `targetOf(command)` names, null when there is no such
 * message in this room; ignored by commands that name none. `known`: for a SendMessage, the
 * fact already held under its messageId in any room (null when the id is new).
 */
export function decide(
  command: RoomCommand,
  state: RoomState,
  target: MessageFact | null = null,
  known: MessageFact | null = null,
): Decision {
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
  const { roomId, actorId } = command;

  if (command.type === 'CreateRoom' || command.type === 'OpenDirect') {
    if (state.status !== 'absent') {
      // The direct room of two users is one room: opening it again is where they asked to be.
      if (command.type === 'OpenDirect' && state.kind === 'DIRECT' && state.members.has(actorId)) return accept();
      return reject(commandError('ROOM_ALREADY_EXISTS', 'the room already exists'));
    }
    if (command.type === 'CreateRoom') {
      return accept({
        type: 'RoomCreated',
        roomId,
        name: command.name.trim(),
        topic: command.topic,
        visibility: command.visibility,
        kind: 'GROUP',
      });
    }
    return accept(
      { type: 'RoomCreated', roomId, name: '', topic: null, visibility: 'PRIVATE', kind: 'DIRECT' },
      { type: 'MemberJoined', roomId, userId: command.peerId, role: 'OWNER' },
    );
  }
  if (state.status === 'absent') return reject(commandError('ROOM_NOT_FOUND', 'no such room'));
  const role = state.members.get(actorId);
  const direct = state.kind === 'DIRECT';

  switch (command.type) {
    case 'JoinRoom':
      // Joining twice is not an error: the member is where they asked to be.
      if (role) return accept();
      if (direct) return forbidden('nobody else can join a direct room');
      if (state.visibility === 'PRIVATE' && !state.invited.has(actorId)) return forbidden('this room is private: you need an invitation');
      // Whoever joins a room its last member left owns it: a room with members has an owner.
      return accept({ type: 'MemberJoined', roomId, userId: actorId, role: state.members.size === 0 ? 'OWNER' : 'MEMBER' });
    case 'SendMessage':
      if (!role) return reject(commandError('NOT_A_MEMBER', 'join the room before sending to it'));
      // Ids of messages are the server's: one already in use (here or in another room) is forged.
      if (known) return reject(commandError('INVALID_INPUT', 'messageId is already in use'));
      if (command.replyTo !== null) {
        const missing = unusable(target, roomId);
        if (missing) return reject(missing);
      }
      return accept({
        type: 'MessageSent',
        roomId,
        messageId: command.messageId,
        body: command.body,
        replyTo: command.replyTo,
        format: command.format,
        attachments: command.attachments,
      });
    case 'EditMessage':
    case 'DeleteMessage':
    case 'AddReaction':
    case 'RemoveReaction':
      if (!role) return reject(commandError('NOT_A_MEMBER', 'you are not a member of this room'));
      return decideOnMessage(command, role, target, accept);
    case 'MarkRead':
      // Sequences are the read model's numbering: it clamps the marker to the room's end and only moves it forward.
      if (!role) return reject(commandError('NOT_A_MEMBER', 'you are not a member of this room'));
      return accept({ type: 'ReadMarkerMoved', roomId, upTo: command.upTo });
    case 'EraseMember':
      return accept(...memberErased(state, roomId, actorId, command.erasedAt));
    case 'ExpireHistory': {
      if (actorId !== RETENTION_ACTOR) return forbidden('history expires by the room’s retention only');
      // Never past what the room's retention allows at that time (it may have been lengthened since the sweep looked).
      const allowed = state.retentionDays === null ? 0 : expiryCutoff(state.retentionDays, command.erasedAt);
      if (command.before > allowed) return forbidden('the room’s retention keeps that history');
      if (command.before <= state.expiredBefore) return accept();
      return accept({ type: 'RoomHistoryExpired', roomId, before: command.before, erasedAt: command.erasedAt });
    }
    case 'LeaveRoom':
      if (!role) return reject(commandError('NOT_A_MEMBER', 'you are not a member of this room'));
      if (direct) return forbidden('a direct room cannot be left');
      if (role === 'OWNER' && ownerCount(state) === 1 && state.members.size > 1) {
        return reject(commandError('LAST_OWNER', 'make another member an owner before you leave'));
      }
      return accept({ type: 'MemberLeft', roomId, userId: actorId });
  }

  // What is left is management: owners and admins of group rooms only.
  if (!role) return reject(commandError('NOT_A_MEMBER', 'you are not a member of this room'));
  if (direct) return forbidden('a direct room has no management');
  if (role === 'MEMBER') return forbidden('only owners and admins can do this');
  switch (command.type) {
    case 'RenameRoom': {
      const name = command.name.trim();
      return name === state.name ? accept() : accept({ type: 'RoomRenamed', roomId, name });
    }
    case 'SetRoomTopic':
      return command.topic === state.topic ? accept() : accept({ type: 'RoomTopicChanged', roomId, topic: command.topic });
    case 'InviteMember':
      if (state.members.has(command.userId) || state.invited.has(command.userId)) return accept();
      return accept({ type: 'MemberInvited', roomId, userId: command.userId });
    case 'RemoveMember': {
      const target = state.members.get(command.userId);
      if (!target) return reject(commandError('NOT_A_MEMBER', 'that user is not a member of this room'));
      if (command.userId === actorId) return reject(commandError('INVALID_INPUT', 'use leaveRoom to leave'));
      if (role === 'ADMIN' && target !== 'MEMBER') return forbidden('admins can remove members only');
      return accept({ type: 'MemberRemoved', roomId, userId: command.userId });
    }
    case 'SetRoomRetention':
      if (role !== 'OWNER') return forbidden('only owners can set how long the room keeps its history');
      return command.days === state.retentionDays ? accept() : accept({ type: 'RoomRetentionSet', roomId, days: command.days });
    case 'SetMemberRole': {
      if (role !== 'OWNER') return forbidden('only owners can change roles');
      const target = state.members.get(command.userId);
      if (!target) return reject(commandError('NOT_A_MEMBER', 'that user is not a member of this room'));
      if (target === command.role) return accept();
      if (target === 'OWNER' && ownerCount(state) === 1) return reject(commandError('LAST_OWNER', 'a room keeps at least one owner'));
      return accept({ type: 'MemberRoleChanged', roomId, userId: command.userId, role: command.role });
    }
  }
}

/**
 * A deleted account leaves with what it wrote, member or not (a room they left still holds
 * their messages). The room keeps an owner while it has members: when the last owner of a group
 * goes, the longest-standing admin, else member, becomes one (members are kept in joining order).
 */
function memberErased(state: RoomState, roomId: string, userId: string, erasedAt: number): Unnumbered[] {
  const events: Unnumbered[] = [{ type: 'MemberErased', roomId, userId, erasedAt }];
  const remaining = [...state.members].filter(([member]) => member !== userId);
  const lastOwner = state.members.get(userId) === 'OWNER' && !remaining.some(([, role]) => role === 'OWNER');
  if (state.kind === 'GROUP' && lastOwner && remaining.length > 0) {
    const [heir] = remaining.find(([, role]) => role === 'ADMIN') ?? remaining[0]!;
    events.push({ type: 'MemberRoleChanged', roomId, userId: heir, role: 'OWNER' });
  }
  return events;
}

/** A role as the log has it; anything unknown (a newer writer's role) counts as the least. */
function toRole(role: string): Role {
  return ROLES.includes(role as Role) ? (role as Role) : 'MEMBER';
}

/** Why a message cannot be replied to, edited or reacted to; undefined when it can. */
function unusable(target: MessageFact | null, roomId: string): CommandError | undefined {
  if (!target || target.roomId !== roomId) return commandError('MESSAGE_NOT_FOUND', 'no such message in this room');
  if (target.deleted) return commandError('MESSAGE_DELETED', 'that message was deleted');
  return undefined;
}

type MessageCommand = Extract<RoomCommand, { type: 'EditMessage' | 'DeleteMessage' | 'AddReaction' | 'RemoveReaction' }>;

function decideOnMessage(
  command: MessageCommand,
  role: Role,
  target: MessageFact | null,
  event: (...events: Unnumbered[]) => Decision,
): Decision {
  const { roomId, actorId, messageId } = command;
  if (command.type === 'DeleteMessage') {
    if (!target || target.roomId !== roomId) return reject(commandError('MESSAGE_NOT_FOUND', 'no such message in this room'));
    if (target.deleted) return event(); // deleted is where it is
    if (target.author !== actorId && role === 'MEMBER') return forbidden('only the author, an owner or an admin can delete a message');
    return event({ type: 'MessageDeleted', roomId, messageId });
  }
  const missing = unusable(target, roomId);
  if (missing) return reject(missing);
  const fact = target!;
  switch (command.type) {
    case 'EditMessage':
      if (fact.author !== actorId) return forbidden('only the author can edit a message');
      return event({ type: 'MessageEdited', roomId, messageId, body: command.body });
    case 'AddReaction': {
      if (fact.reactions.has(reactionKey(actorId, command.emoji))) return event();
      const full = reactionCapReached(fact, actorId, command.emoji);
      if (full) return reject(full);
      return event({ type: 'ReactionAdded', roomId, messageId, emoji: command.emoji });
    }
    case 'RemoveReaction':
      if (!fact.reactions.has(reactionKey(actorId, command.emoji))) return event();
      return event({ type: 'ReactionRemoved', roomId, messageId, emoji: command.emoji });
  }
}

/** Why one more reaction (new to this user and message) would pass a cap; undefined when it may be added. */
function reactionCapReached(fact: MessageFact, userId: string, emoji: string): CommandError | undefined {
  const mine = reactionKeyPrefix(userId);
  let byUser = 0;
  const emojis = new Set<string>();
  for (const key of fact.reactions) {
    if (key.startsWith(mine)) byUser++;
    emojis.add(key.slice(key.indexOf('\u0000') + 1));
  }
  if (byUser >= MESSAGE_CAPS.reactionsPerUser) {
    return commandError('LIMIT_REACHED', `you can have at most ${MESSAGE_CAPS.reactionsPerUser} reactions on one message`);
  }
  if (!emojis.has(emoji) && emojis.size >= MESSAGE_CAPS.emojisPerMessage) {
    return commandError('LIMIT_REACHED', `a message has at most ${MESSAGE_CAPS.emojisPerMessage} different reactions`);
  }
  return undefined;
}

/**
 * A message's fact after an event; undefined for events about no message. An id names one
 * message, of the room that first sent it: an event of another room naming it (only a forged
 * command could have appended one) leaves that message's fact as it was.
 */
export function evolveMessage(fact: MessageFact | undefined, event: RoomEvent): MessageFact | undefined {
  if (fact && fact.roomId !== event.roomId) return fact;
  switch (event.type) {
    case 'MessageSent':
      if (fact) return fact;
      return { roomId: event.roomId, author: event.actorId, deleted: false, reactions: new Set() };
    case 'MessageEdited':
      return fact;
    case 'MessageDeleted':
      return fact && { ...fact, deleted: true, reactions: new Set() };
    case 'ReactionAdded':
      return fact && { ...fact, reactions: new Set([...fact.reactions, reactionKey(event.actorId, event.emoji)]) };
    case 'ReactionRemoved': {
      if (!fact) return fact;
      const reactions = new Set(fact.reactions);
      reactions.delete(reactionKey(event.actorId, event.emoji));
      return { ...fact, reactions };
    }
    default:
      return undefined;
  }
}

function ownerCount(state: RoomState): number {
  let owners = 0;
  for (const role of state.members.values()) if (role === 'OWNER') owners++;
  return owners;
}

function withMember(state: RoomState, userId: string, role: Role | undefined): Pick<RoomState, 'members' | 'invited'> {
  const members = new Map(state.members);
  if (role) members.set(userId, role);
  else members.delete(userId);
  const invited = new Set(state.invited);
  invited.delete(userId);
  return { members, invited };
}

export function evolve(state: RoomState, event: RoomEvent): RoomState {
  const revision = event.revision;
  switch (event.type) {
    case 'RoomCreated':
      // The creator is the room's first member and owner (both users own a direct room).
      return {
        status: 'open',
        kind: event.kind === 'DIRECT' ? 'DIRECT' : 'GROUP',
        visibility: event.visibility === 'PRIVATE' ? 'PRIVATE' : 'PUBLIC',
        name: event.name,
        topic: event.topic,
        members: new Map([[event.actorId, 'OWNER']]),
        invited: new Set(),
        retentionDays: null,
        expiredBefore: 0,
        revision,
      };
    case 'RoomRenamed':
      return { ...state, name: event.name, revision };
    case 'RoomTopicChanged':
      return { ...state, topic: event.topic, revision };
    case 'RoomRetentionSet':
      return { ...state, retentionDays: event.days, revision };
    case 'RoomHistoryExpired':
      return { ...state, expiredBefore: Math.max(state.expiredBefore, event.before), revision };
    case 'MemberInvited':
      return { ...state, invited: new Set([...state.invited, event.userId]), revision };
    case 'MemberJoined':
      if (state.members.has(event.userId)) return { ...state, revision };
      return { ...state, ...withMember(state, event.userId, toRole(event.role)), revision };
    case 'MemberLeft':
    case 'MemberRemoved':
    case 'MemberErased':
      return { ...state, ...withMember(state, event.userId, undefined), revision };
    case 'MemberRoleChanged':
      if (!state.members.has(event.userId)) return { ...state, revision };
      return { ...state, ...withMember(state, event.userId, toRole(event.role)), revision };
    case 'MessageSent':
    case 'MessageEdited':
    case 'MessageDeleted':
    case 'ReactionAdded':
    case 'ReactionRemoved':
    case 'ReadMarkerMoved':
      // Messages are facts of their own (evolveMessage), markers the read model's; the room only moves on.
      return { ...state, revision };
  }
}
