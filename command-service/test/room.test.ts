import { describe, expect, it } from 'vitest';
import { decide, evolve, initialRoomState, type RoomCommand, type RoomEvent, type RoomState } from '../src/domain/room.ts';

const ROOM = '6f1c4a52-34b5-4a8e-9d07-1c2b3d4e5f60';

function stamp(events: ReturnType<typeof decide>, actorId: string): RoomEvent[] {
  if (!events.ok) throw new Error(events.error.message);
  return events.events.map((e, i) => ({ ...e, eventId: `e${i}`, occurredAt: 1, actorId, commandId: null }) as RoomEvent);
}

function given(...commands: RoomCommand[]): RoomState {
  return commands.reduce((state, command) => stamp(decide(command, state), command.actorId).reduce(evolve, state), initialRoomState);
}

const create: RoomCommand = { type: 'CreateRoom', roomId: ROOM, name: '  general ', actorId: 'alice', commandId: null };
const join = (actorId: string): RoomCommand => ({ type: 'JoinRoom', roomId: ROOM, actorId, commandId: null });
const send = (actorId: string, body = 'hi', commandId: string | null = 'c1'): RoomCommand => ({
  type: 'SendMessage',
  roomId: ROOM,
  actorId,
  commandId,
  messageId: '0b6f0d5e-5d5b-4f59-8a38-3f7c1d9a2b10',
  body,
});

describe('room decider', () => {
  it('creates a room with a trimmed name, its creator the first member', () => {
    const decision = decide(create, initialRoomState);
    expect(decision).toEqual({ ok: true, events: [{ type: 'RoomCreated', roomId: ROOM, name: 'general' }] });
    expect(given(create).members).toEqual(new Set(['alice']));
  });

  it('refuses to create a room twice', () => {
    expect(decide(create, given(create))).toMatchObject({ ok: false, error: { code: 'ROOM_ALREADY_EXISTS' } });
  });

  it('refuses room ids that are not UUIDs and blank or overlong names', () => {
    expect(decide({ ...create, roomId: 'general' }, initialRoomState)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(decide({ ...create, name: ' ' }, initialRoomState)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(decide({ ...create, name: 'x'.repeat(101) }, initialRoomState)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
  });

  it('lets a user join an existing room once; joining again appends nothing', () => {
    expect(decide(join('bob'), initialRoomState)).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
    const state = given(create);
    expect(decide(join('bob'), state)).toEqual({ ok: true, events: [{ type: 'MemberJoined', roomId: ROOM, userId: 'bob' }] });
    expect(decide(join('bob'), given(create, join('bob')))).toEqual({ ok: true, events: [] });
  });

  it('accepts messages from members only', () => {
    const state = given(create, join('bob'));
    expect(decide(send('bob'), state)).toMatchObject({ ok: true, events: [{ type: 'MessageSent', body: 'hi' }] });
    expect(decide(send('mallory'), state)).toMatchObject({ ok: false, error: { code: 'NOT_A_MEMBER' } });
  });

  it('refuses blank, overlong, control-character and keyless messages', () => {
    const state = given(create);
    expect(decide(send('alice', ' \n '), state)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(decide(send('alice', 'x'.repeat(4001)), state)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(decide(send('alice', 'bell\u0007'), state)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(decide(send('alice', 'hi', null), state)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    // Limits count characters, not UTF-16 units: 4000 emoji fit.
    expect(decide(send('alice', '🙂'.repeat(4000)), state)).toMatchObject({ ok: true });
  });

  it('evolve ignores a repeated join and leaves state alone on messages', () => {
    const state = given(create, join('bob'));
    const [joined] = stamp(decide(join('carol'), state), 'carol');
    const after = evolve(evolve(state, joined!), joined!);
    expect(after.members).toEqual(new Set(['alice', 'bob', 'carol']));
    const [sent] = stamp(decide(send('bob'), state), 'bob');
    expect(evolve(state, sent!)).toBe(state);
  });
});
