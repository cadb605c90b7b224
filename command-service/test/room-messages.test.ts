import { describe, expect, it } from 'vitest';
import {
  decide,
  evolve,
  evolveMessage,
  initialRoomState,
  reactionKey,
  type MessageFact,
  type RoomCommand,
  type RoomEvent,
  type RoomState,
} from '../src/domain/room.ts';
import { createdRoomId } from '../src/domain/room-ids.ts';

// Message rules of the room decider: replies, edits, deletes, reactions, read markers.

const [OWNER, AUTHOR, OTHER, STRANGER] = [
  '0a000000-0000-4000-8000-000000000001',
  '0b000000-0000-4000-8000-000000000002',
  '0c000000-0000-4000-8000-000000000003',
  '0d000000-0000-4000-8000-000000000004',
];
// The owner's room: the id the server derives for their createRoom with the key 'k'.
const ROOM = createdRoomId(OWNER, 'k');
const MESSAGE = '1f000000-0000-4000-8000-000000000001';

type Without<C> = C extends unknown ? Omit<C, 'roomId' | 'commandId' | 'actorId'> : never;
const as = (actorId: string, command: Without<RoomCommand>): RoomCommand =>
  ({ ...command, roomId: ROOM, actorId, commandId: 'k' }) as RoomCommand;

const room: RoomState = [
  as(OWNER, { type: 'CreateRoom', name: 'r', topic: null, visibility: 'PUBLIC' }),
  as(AUTHOR, { type: 'JoinRoom' }),
  as(OTHER, { type: 'JoinRoom' }),
].reduce((state, command) => {
  const decision = decide(command, state);
  if (!decision.ok) throw new Error(decision.error.message);
  return decision.events
    .map((e) => ({ ...e, eventId: 'e', occurredAt: 1, actorId: command.actorId, commandId: null }) as RoomEvent)
    .reduce(evolve, state);
}, initialRoomState);

const fact = (over: Partial<MessageFact> = {}): MessageFact => ({
  roomId: ROOM,
  author: AUTHOR,
  deleted: false,
  reactions: new Set(),
  ...over,
});
const outcome = (command: RoomCommand, target: MessageFact | null) => {
  const decision = decide(command, room, target);
  return decision.ok ? decision.events.map((e) => e.type).join(',') || 'no-op' : decision.error.code;
};

describe('message rules', () => {
  it('replies only to a live message of the same room', () => {
    const reply = as(OTHER, {
      type: 'SendMessage',
      messageId: '2f000000-0000-4000-8000-000000000002',
      body: 'yes',
      replyTo: MESSAGE,
      format: 'MARKDOWN',
      attachments: [],
    });
    expect(outcome(reply, fact())).toBe('MessageSent');
    expect(outcome(reply, null)).toBe('MESSAGE_NOT_FOUND');
    expect(outcome(reply, fact({ roomId: '7f1c4a52-34b5-4a8e-9d07-1c2b3d4e5f61' }))).toBe('MESSAGE_NOT_FOUND');
    expect(outcome(reply, fact({ deleted: true }))).toBe('MESSAGE_DELETED');
  });

  it('lets only the author edit, and nobody edit a deleted message', () => {
    expect(outcome(as(AUTHOR, { type: 'EditMessage', messageId: MESSAGE, body: 'better' }), fact())).toBe('MessageEdited');
    expect(outcome(as(OWNER, { type: 'EditMessage', messageId: MESSAGE, body: 'mine' }), fact())).toBe('FORBIDDEN');
    expect(outcome(as(AUTHOR, { type: 'EditMessage', messageId: MESSAGE, body: 'x' }), fact({ deleted: true }))).toBe('MESSAGE_DELETED');
    expect(outcome(as(STRANGER, { type: 'EditMessage', messageId: MESSAGE, body: 'x' }), fact({ author: STRANGER }))).toBe('NOT_A_MEMBER');
  });

  it('lets the author, an owner or an admin delete, once', () => {
    const del = (actor: string) => as(actor, { type: 'DeleteMessage', messageId: MESSAGE });
    expect(outcome(del(AUTHOR), fact())).toBe('MessageDeleted');
    expect(outcome(del(OWNER), fact())).toBe('MessageDeleted');
    expect(outcome(del(OTHER), fact())).toBe('FORBIDDEN');
    expect(outcome(del(AUTHOR), fact({ deleted: true }))).toBe('no-op');
  });

  it('counts a reaction once per member and emoji, never on a deleted message, and takes only real emoji', () => {
    const react = (emoji: string) => as(OTHER, { type: 'AddReaction', messageId: MESSAGE, emoji });
    expect(outcome(react('👍'), fact())).toBe('ReactionAdded');
    expect(outcome(react('👍'), fact({ reactions: new Set([reactionKey(OTHER, '👍')]) }))).toBe('no-op');
    expect(outcome(react('👍'), fact({ deleted: true }))).toBe('MESSAGE_DELETED');
    expect(outcome(as(OTHER, { type: 'RemoveReaction', messageId: MESSAGE, emoji: '👍' }), fact())).toBe('no-op');
    for (const emoji of ['👍🏽', '👨‍👩‍👧', '🇫🇷', '1️⃣']) expect(outcome(react(emoji), fact()), emoji).toBe('ReactionAdded');
    for (const junk of ['a', '👍👍', ':+1:', '', '👍 ']) expect(outcome(react(junk), fact()), junk).toBe('INVALID_INPUT');
  });

  it('moves read markers for members only, and keeps message facts up to date', () => {
    expect(outcome(as(OTHER, { type: 'MarkRead', upTo: 5 }), null)).toBe('ReadMarkerMoved');
    expect(outcome(as(STRANGER, { type: 'MarkRead', upTo: 5 }), null)).toBe('NOT_A_MEMBER');
    expect(outcome(as(OTHER, { type: 'MarkRead', upTo: -1 }), null)).toBe('INVALID_INPUT');
    const base = { roomId: ROOM, eventId: 'e', occurredAt: 1, commandId: null, revision: 9, messageId: MESSAGE } as const;
    let f = evolveMessage(undefined, {
      ...base,
      type: 'MessageSent',
      actorId: AUTHOR,
      body: 'hi',
      replyTo: null,
      format: 'PLAIN',
      attachments: [],
    });
    f = evolveMessage(f, { ...base, type: 'ReactionAdded', actorId: OTHER, emoji: '👍' });
    expect(f?.reactions.has(reactionKey(OTHER, '👍'))).toBe(true);
    f = evolveMessage(f, { ...base, type: 'MessageDeleted', actorId: OWNER });
    expect(f).toMatchObject({ author: AUTHOR, deleted: true, reactions: new Set() });
  });
});
