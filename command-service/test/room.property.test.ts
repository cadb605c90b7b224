import type { Attachment } from '@chat/schemas';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ROLES,
  decide,
  evolve,
  evolveMessage,
  initialRoomState,
  targetOf,
  type MessageFact,
  type RoomCommand,
  type RoomEvent,
} from '../src/domain/room.ts';
import { createdRoomId } from '../src/domain/room-ids.ts';

// Properties of the room decider over arbitrary command sequences, including hostile text.

const USERS = ['a1a1a1a1-0000-4000-8000-000000000001', 'b2b2b2b2-0000-4000-8000-000000000002', 'c3c3c3c3-0000-4000-8000-000000000003'];
// The room every command names: the one the server derives for the first user's createRoom
// with the key 'create' (a CreateRoom by anyone else, or with another key, is refused).
const ROOM = createdRoomId(USERS[0]!, 'create');
const actor = fc.constantFrom(...USERS);
// Mostly valid input, so that long histories build up; hostile text now and then.
const text = fc.oneof(
  { arbitrary: fc.constantFrom('general', 'x', ' spaced ', 'emoji 🎉', 'line\nbreak'), weight: 8 },
  { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
  { arbitrary: fc.constantFrom('a\u0000b', 'x\ud800', '   '), weight: 1 },
);
const key = fc.oneof(
  { arbitrary: fc.constant(null), weight: 1 },
  { arbitrary: fc.constantFrom('k1', 'k2', 'k3'), weight: 3 },
  { arbitrary: fc.uuid(), weight: 3 },
  { arbitrary: text, weight: 1 },
);
const expected = fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: fc.integer({ min: -1, max: 8 }), weight: 1 });
// Messages get these ids in the order they are sent, so later commands can name them.
const MESSAGE_IDS = Array.from({ length: 6 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
const message = fc.constantFrom(...MESSAGE_IDS);
const emoji = fc.constantFrom('👍', '🎉', '👍🏽', 'x', '👍👍');
const base = { roomId: fc.constant(ROOM), actorId: actor, commandId: key, expectedRevision: expected };
// Weighted towards what builds history: joins, messages and reactions.
const command: fc.Arbitrary<RoomCommand> = fc.oneof(
  {
    arbitrary: fc.record({
      ...base,
      // Mostly the creator and key the room's id derives from; now and then anyone, any key.
      actorId: fc.oneof({ arbitrary: fc.constant(USERS[0]!), weight: 3 }, { arbitrary: actor, weight: 1 }),
      commandId: fc.oneof({ arbitrary: fc.constant('create'), weight: 3 }, { arbitrary: key, weight: 1 }),
      type: fc.constant('CreateRoom' as const),
      name: text,
      topic: fc.option(text, { nil: null }),
      visibility: fc.constantFrom('PUBLIC' as const, 'PRIVATE' as const),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ ...base, type: fc.constant('OpenDirect' as const), peerId: actor }), weight: 1 },
  { arbitrary: fc.record({ ...base, type: fc.constant('RenameRoom' as const), name: text }), weight: 1 },
  { arbitrary: fc.record({ ...base, type: fc.constant('SetRoomTopic' as const), topic: fc.option(text, { nil: null }) }), weight: 1 },
  { arbitrary: fc.record({ ...base, type: fc.constant('JoinRoom' as const) }), weight: 4 },
  { arbitrary: fc.record({ ...base, type: fc.constant('LeaveRoom' as const) }), weight: 1 },
  { arbitrary: fc.record({ ...base, type: fc.constant('InviteMember' as const), userId: actor }), weight: 1 },
  { arbitrary: fc.record({ ...base, type: fc.constant('RemoveMember' as const), userId: actor }), weight: 1 },
  {
    arbitrary: fc.record({ ...base, type: fc.constant('SetMemberRole' as const), userId: actor, role: fc.constantFrom(...ROLES) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      ...base,
      type: fc.constant('SendMessage' as const),
      // '' for the next fresh id; now and then a forged reuse of an id already sent.
      messageId: fc.oneof({ arbitrary: fc.constant(''), weight: 5 }, { arbitrary: message, weight: 1 }),
      body: text,
      replyTo: fc.option(message, { nil: null }),
      format: fc.constantFrom('PLAIN' as const, 'MARKDOWN' as const),
      attachments: fc.constant<Attachment[]>([]),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ ...base, type: fc.constant('EditMessage' as const), messageId: message, body: text }), weight: 2 },
  { arbitrary: fc.record({ ...base, type: fc.constant('DeleteMessage' as const), messageId: message }), weight: 1 },
  { arbitrary: fc.record({ ...base, type: fc.constant('AddReaction' as const), messageId: message, emoji: emoji }), weight: 3 },
  { arbitrary: fc.record({ ...base, type: fc.constant('RemoveReaction' as const), messageId: message, emoji: emoji }), weight: 1 },
);

function run(commands: RoomCommand[]) {
  let state = initialRoomState;
  const facts = new Map<string, MessageFact>();
  const log: RoomEvent[] = [];
  let sent = 0;
  for (const generated of commands) {
    const c =
      generated.type === 'SendMessage' && generated.messageId === ''
        ? { ...generated, messageId: MESSAGE_IDS[sent] ?? crypto.randomUUID() }
        : generated;
    const before = state;
    const target = targetOf(c);
    const known = c.type === 'SendMessage' ? (facts.get(c.messageId) ?? null) : null;
    const decision = decide(c, state, target === null ? null : (facts.get(target) ?? null), known);
    if (!decision.ok) {
      expect(state).toBe(before);
      continue;
    }
    // A room is only ever created under the id the server derives from its creator and key.
    if (c.type === 'CreateRoom') expect(c.roomId).toBe(createdRoomId(c.actorId, c.commandId ?? ''));
    for (const event of decision.events) {
      const stamped = { ...event, eventId: 'e', occurredAt: 0, actorId: c.actorId, commandId: c.commandId } as RoomEvent;
      log.push(stamped);
      state = evolve(state, stamped);
      if (stamped.type === 'MessageSent') sent++;
      if ('messageId' in stamped) facts.set(stamped.messageId, evolveMessage(facts.get(stamped.messageId), stamped)!);
    }
  }
  return { state, log };
}

describe('room decider properties', () => {
  it('numbers every accepted event 1, 2, 3… with no gap, and the state ends at the last', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        const { state, log } = run(commands);
        expect(log.map((e) => e.revision)).toEqual(log.map((_, i) => i + 1));
        expect(state.revision).toBe(log.length);
      }),
    );
  });

  it('appends only well-formed text without NUL or control characters', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        for (const event of run(commands).log) {
          for (const value of Object.values(event)) {
            if (typeof value !== 'string') continue;
            expect(value.isWellFormed()).toBe(true);
            expect(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/.test(value)).toBe(false);
          }
        }
      }),
    );
  });

  // The invariants, checked against the log itself (an independent fold), after every event.
  it('never lets a non-member send, a stranger into a private or direct room, a group room lose its last owner, a third user into a direct room, anyone but the author edit, a member delete another’s message, anyone react twice or to a deleted message, or a message id name two messages', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 10, maxLength: 60, size: 'max' }), (commands) => {
        const roles = new Map<string, string>();
        const authors = new Map<string, string>();
        const deleted = new Set<string>();
        const reactions = new Set<string>();
        const invited = new Set<string>();
        let kind = 'GROUP';
        let visibility = 'PUBLIC';
        for (const event of run(commands).log) {
          switch (event.type) {
            case 'RoomCreated':
              kind = event.kind;
              visibility = event.visibility;
              roles.set(event.actorId, 'OWNER');
              break;
            case 'MemberInvited':
              expect(['OWNER', 'ADMIN']).toContain(roles.get(event.actorId));
              invited.add(event.userId);
              break;
            case 'MemberJoined':
              if (kind === 'GROUP' && visibility === 'PRIVATE') expect(invited.has(event.userId)).toBe(true);
              if (kind === 'DIRECT') expect(roles.size).toBe(1);
              expect(event.role).toBe(kind === 'DIRECT' || roles.size === 0 ? 'OWNER' : 'MEMBER');
              roles.set(event.userId, event.role);
              invited.delete(event.userId);
              break;
            case 'MemberLeft':
            case 'MemberRemoved':
              expect(roles.has(event.userId)).toBe(true);
              if (event.type === 'MemberRemoved') expect(['OWNER', 'ADMIN']).toContain(roles.get(event.actorId));
              roles.delete(event.userId);
              break;
            case 'MemberRoleChanged':
              expect(roles.get(event.actorId)).toBe('OWNER');
              roles.set(event.userId, event.role);
              break;
            case 'MessageSent':
              expect(roles.has(event.actorId)).toBe(true);
              expect(authors.has(event.messageId)).toBe(false); // an id names one message
              if (event.replyTo !== null) expect(authors.has(event.replyTo) && !deleted.has(event.replyTo)).toBe(true);
              authors.set(event.messageId, event.actorId);
              break;
            case 'MessageEdited':
              expect(authors.get(event.messageId)).toBe(event.actorId);
              expect(deleted.has(event.messageId)).toBe(false);
              break;
            case 'MessageDeleted':
              expect(authors.get(event.messageId) === event.actorId || ['OWNER', 'ADMIN'].includes(roles.get(event.actorId)!)).toBe(true);
              expect(deleted.has(event.messageId)).toBe(false);
              deleted.add(event.messageId);
              break;
            case 'ReactionAdded':
            case 'ReactionRemoved': {
              expect(roles.has(event.actorId)).toBe(true);
              expect(authors.has(event.messageId) && !deleted.has(event.messageId)).toBe(true);
              const key = `${event.messageId} ${event.actorId} ${event.emoji}`;
              expect(reactions.has(key)).toBe(event.type === 'ReactionRemoved');
              if (event.type === 'ReactionAdded') reactions.add(key);
              else reactions.delete(key);
              break;
            }
            case 'RoomRenamed':
            case 'RoomTopicChanged':
              expect(['OWNER', 'ADMIN']).toContain(roles.get(event.actorId));
              break;
          }
          if (roles.size > 0) expect([...roles.values()]).toContain('OWNER');
          expect(roles.size).toBeLessThanOrEqual(kind === 'DIRECT' ? 2 : USERS.length);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts a command carrying an expectedRevision only when it is the current revision', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 20 }), command, (history, next) => {
        const { state } = run(history);
        const decision = decide(next, state);
        if (decision.ok && next.expectedRevision != null) expect(next.expectedRevision).toBe(state.revision);
        if (!decision.ok && decision.error.code === 'CONFLICT') expect(decision.error.currentRevision).toBe(state.revision);
      }),
    );
  });
});
