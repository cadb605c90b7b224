import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, evolve, initialRoomState, type RoomCommand, type RoomEvent } from '../src/domain/room.ts';

// Properties of the room decider over arbitrary command sequences, including hostile text.

const ROOM = '6f1c4a52-34b5-4a8e-9d07-1c2b3d4e5f60';
const actor = fc.constantFrom('alice', 'bob', 'carol');
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constant('a\u0000b'),
  fc.constant('x\ud800'),
);
const key = fc.option(fc.oneof(fc.constantFrom('k1', 'k2', 'k3'), text), { nil: null });
const expected = fc.option(fc.integer({ min: -1, max: 8 }), { nil: undefined });
const command: fc.Arbitrary<RoomCommand> = fc.oneof(
  fc.record({
    type: fc.constant('CreateRoom' as const),
    roomId: fc.constant(ROOM),
    actorId: actor,
    commandId: key,
    name: text,
    expectedRevision: expected,
  }),
  fc.record({
    type: fc.constant('JoinRoom' as const),
    roomId: fc.constant(ROOM),
    actorId: actor,
    commandId: key,
    expectedRevision: expected,
  }),
  fc.record({
    type: fc.constant('SendMessage' as const),
    roomId: fc.constant(ROOM),
    actorId: actor,
    commandId: key,
    messageId: fc.uuid(),
    body: text,
    expectedRevision: expected,
  }),
);

function run(commands: RoomCommand[]) {
  let state = initialRoomState;
  const log: RoomEvent[] = [];
  for (const c of commands) {
    const before = state;
    const decision = decide(c, state);
    if (!decision.ok) {
      expect(state).toBe(before);
      continue;
    }
    for (const event of decision.events) {
      const stamped = { ...event, eventId: 'e', occurredAt: 0, actorId: c.actorId, commandId: c.commandId } as RoomEvent;
      log.push(stamped);
      state = evolve(state, stamped);
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

  it('appends only well-formed text without NUL or control characters, and messages from members only', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        const members = new Set<string>();
        for (const event of run(commands).log) {
          for (const value of Object.values(event)) {
            if (typeof value !== 'string') continue;
            expect(value.isWellFormed()).toBe(true);
            expect(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/.test(value)).toBe(false);
          }
          if (event.type === 'RoomCreated') members.add(event.actorId);
          if (event.type === 'MemberJoined') members.add(event.userId);
          if (event.type === 'MessageSent') expect(members.has(event.actorId)).toBe(true);
        }
      }),
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
