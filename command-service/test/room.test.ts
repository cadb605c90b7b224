import { describe, expect, it } from 'vitest';
import { decide, evolve, initialRoomState, type RoomCommand } from '../src/domain/room.ts';
import { given, stamp } from './decider.ts';
import { createdRoomId } from '../src/domain/room-ids.ts';

// The id the server derives for Alice's createRoom with this key (the decider checks it).
const ROOM = createdRoomId('alice', 'create-general');

const create: RoomCommand = {
  type: 'CreateRoom',
  roomId: ROOM,
  name: '  general ',
  topic: null,
  visibility: 'PUBLIC',
  actorId: 'alice',
  commandId: 'create-general',
};
const join = (actorId: string): RoomCommand => ({ type: 'JoinRoom', roomId: ROOM, actorId, commandId: null });
const send = (actorId: string, body = 'hi', commandId: string | null = 'c1'): RoomCommand => ({
  type: 'SendMessage',
  roomId: ROOM,
  actorId,
  commandId,
  messageId: '0b6f0d5e-5d5b-4f59-8a38-3f7c1d9a2b10',
  body,
  replyTo: null,
  format: 'PLAIN',
  attachments: [],
});

describe('room decider', () => {
  it('creates a room with a trimmed name, its creator the first member', () => {
    const decision = decide(create, initialRoomState);
    expect(decision).toEqual({
      ok: true,
      events: [{ type: 'RoomCreated', roomId: ROOM, name: 'general', topic: null, visibility: 'PUBLIC', kind: 'GROUP', revision: 1 }],
    });
    expect(given(create).members).toEqual(new Map([['alice', 'OWNER']]));
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
    expect(decide(join('bob'), state)).toEqual({
      ok: true,
      events: [{ type: 'MemberJoined', roomId: ROOM, userId: 'bob', role: 'MEMBER', revision: 2 }],
    });
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
    // A format other than PLAIN or MARKDOWN (a forwarded command is plain JSON, past GraphQL's enum).
    const unknownFormat = { ...send('alice'), format: 'HTML' } as unknown as RoomCommand;
    expect(decide(unknownFormat, state)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT', message: /format/ } });
    // Limits count characters, not UTF-16 units: 4000 emoji fit.
    expect(decide(send('alice', '🙂'.repeat(4000)), state)).toMatchObject({ ok: true });
  });

  it('evolve ignores a repeated join; messages move only the revision', () => {
    const state = given(create, join('bob'));
    const [joined] = stamp(decide(join('carol'), state), 'carol');
    const after = evolve(evolve(state, joined!), joined!);
    expect(after.members).toEqual(
      new Map([
        ['alice', 'OWNER'],
        ['bob', 'MEMBER'],
        ['carol', 'MEMBER'],
      ]),
    );
    const [sent] = stamp(decide(send('bob'), state), 'bob');
    expect(evolve(state, sent!)).toEqual({ ...state, revision: 3 });
  });

  it('numbers every event of a room with the next revision, whatever its type', () => {
    const state = given(create, join('bob'), send('bob', 'one', 'k1'), join('carol'));
    expect(state.revision).toBe(4);
    expect(decide(send('carol', 'two', 'k2'), state)).toMatchObject({ ok: true, events: [{ revision: 5 }] });
  });

  it('refuses a command whose expectedRevision is not the room revision, saying which it is', () => {
    const state = given(create, join('bob'));
    expect(decide({ ...send('bob'), expectedRevision: 2 }, state)).toMatchObject({ ok: true, events: [{ revision: 3 }] });
    expect(decide({ ...send('bob'), expectedRevision: 1 }, state)).toEqual({
      ok: false,
      error: { code: 'CONFLICT', message: 'the room is at revision 2, not 1', currentRevision: 2 },
    });
    expect(decide({ ...create, expectedRevision: 0 }, initialRoomState)).toMatchObject({ ok: true });
    expect(decide({ ...send('bob'), expectedRevision: -1 }, state)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
  });

  it('refuses strings that strict decoders or Postgres would choke on, before anything else', () => {
    const state = given(create);
    const refused = (command: RoomCommand) => expect(decide(command, state)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    refused(send('alice', 'a\u0000b'));
    refused(send('alice', 'x\ud800y')); // lone surrogate
    refused(send('alice', 'next line\u0085')); // C1 control
    refused(send('alice', 'hi', 'a\u0000b'));
    refused(send('alice', 'hi', '   '));
    refused(send('alice', 'hi', 'tab\tkey'));
    refused(send('alice', 'hi', 'k'.repeat(129)));
    refused(send('x'.repeat(129), 'hi'));
    refused(send('bad\u0001user', 'hi'));
    refused({ ...create, roomId: ROOM, name: 'x\udc00' });
    expect(decide(send('alice', 'line one\nline\ttwo'), state)).toMatchObject({ ok: true });
    expect(decide(send('alice', 'hi', 'k'.repeat(128)), state)).toMatchObject({ ok: true });
  });
});
