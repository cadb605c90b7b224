import { describe, expect, it } from 'vitest';
import { decide, evolve, initialRoomState, type RoomCommand, type RoomEvent, type RoomState } from '../src/domain/room.ts';
import { createdRoomId, directRoomId } from '../src/domain/room-ids.ts';

// Membership rules of the room decider: roles, private rooms, the last owner, direct rooms.

const [OWEN, ADA, MIA, ZED] = [
  '0a000000-0000-4000-8000-000000000001',
  '0b000000-0000-4000-8000-000000000002',
  '0c000000-0000-4000-8000-000000000003',
  '0d000000-0000-4000-8000-000000000004',
];
// Owen's room: the id the server derives for his createRoom with this key.
const CREATE_KEY = 'create';
const ROOM = createdRoomId(OWEN, CREATE_KEY);

type Without<C> = C extends unknown ? Omit<C, 'roomId' | 'commandId' | 'actorId'> : never;
const as = (actorId: string, command: Without<RoomCommand>): RoomCommand =>
  ({ ...command, roomId: ROOM, actorId, commandId: command.type === 'CreateRoom' ? CREATE_KEY : null }) as RoomCommand;

function given(...commands: RoomCommand[]): RoomState {
  return commands.reduce((state, command) => {
    const decision = decide(command, state);
    if (!decision.ok) throw new Error(`${command.type}: ${decision.error.message}`);
    return decision.events
      .map((e) => ({ ...e, eventId: 'e', occurredAt: 1, actorId: command.actorId, commandId: null }) as RoomEvent)
      .reduce(evolve, state);
  }, initialRoomState);
}

const code = (command: RoomCommand, state: RoomState) => {
  const decision = decide(command, state);
  return decision.ok ? (decision.events.length ? decision.events.map((e) => e.type).join(',') : 'no-op') : decision.error.code;
};

const privateRoom = as(OWEN, { type: 'CreateRoom', name: 'secret', topic: null, visibility: 'PRIVATE' });
const publicRoom = as(OWEN, { type: 'CreateRoom', name: 'open', topic: 'all welcome', visibility: 'PUBLIC' });
// Owen owns, Ada is an admin, Mia a member.
const staffed = [
  publicRoom,
  as(ADA, { type: 'JoinRoom' }),
  as(MIA, { type: 'JoinRoom' }),
  as(OWEN, { type: 'SetMemberRole', userId: ADA, role: 'ADMIN' }),
];

describe('room membership', () => {
  it('lets anyone join a public room, and only the invited join a private one', () => {
    expect(code(as(ADA, { type: 'JoinRoom' }), given(publicRoom))).toBe('MemberJoined');
    const secret = given(privateRoom);
    expect(code(as(ADA, { type: 'JoinRoom' }), secret)).toBe('FORBIDDEN');
    const invited = given(privateRoom, as(OWEN, { type: 'InviteMember', userId: ADA }));
    expect(code(as(ADA, { type: 'JoinRoom' }), invited)).toBe('MemberJoined');
    expect(code(as(MIA, { type: 'JoinRoom' }), invited)).toBe('FORBIDDEN');
    // Inviting twice, or inviting a member, changes nothing.
    expect(code(as(OWEN, { type: 'InviteMember', userId: ADA }), invited)).toBe('no-op');
  });

  it('lets owners and admins manage, members not; only owners change roles; admins remove members only', () => {
    const room = given(...staffed);
    expect(code(as(MIA, { type: 'RenameRoom', name: 'mine' }), room)).toBe('FORBIDDEN');
    expect(code(as(ADA, { type: 'RenameRoom', name: 'ours' }), room)).toBe('RoomRenamed');
    expect(code(as(ADA, { type: 'SetRoomTopic', topic: null }), room)).toBe('RoomTopicChanged');
    expect(code(as(ADA, { type: 'RenameRoom', name: 'open' }), room)).toBe('no-op');
    expect(code(as(MIA, { type: 'InviteMember', userId: ZED }), room)).toBe('FORBIDDEN');
    expect(code(as(ADA, { type: 'InviteMember', userId: ZED }), room)).toBe('MemberInvited');
    expect(code(as(ADA, { type: 'SetMemberRole', userId: MIA, role: 'ADMIN' }), room)).toBe('FORBIDDEN');
    expect(code(as(ADA, { type: 'RemoveMember', userId: MIA }), room)).toBe('MemberRemoved');
    expect(code(as(ADA, { type: 'RemoveMember', userId: OWEN }), room)).toBe('FORBIDDEN');
    expect(code(as(OWEN, { type: 'RemoveMember', userId: ADA }), room)).toBe('MemberRemoved');
    expect(code(as(OWEN, { type: 'RemoveMember', userId: ZED }), room)).toBe('NOT_A_MEMBER');
  });

  it('keeps at least one owner: the last one can neither leave nor step down while others remain', () => {
    const room = given(...staffed);
    expect(code(as(OWEN, { type: 'LeaveRoom' }), room)).toBe('LAST_OWNER');
    expect(code(as(OWEN, { type: 'SetMemberRole', userId: OWEN, role: 'MEMBER' }), room)).toBe('LAST_OWNER');
    const handedOver = given(...staffed, as(OWEN, { type: 'SetMemberRole', userId: ADA, role: 'OWNER' }));
    expect(code(as(OWEN, { type: 'LeaveRoom' }), handedOver)).toBe('MemberLeft');
    // Alone, the owner may leave; whoever joins the emptied room owns it.
    const alone = given(publicRoom, as(OWEN, { type: 'LeaveRoom' }));
    expect(alone.members.size).toBe(0);
    expect(given(publicRoom, as(OWEN, { type: 'LeaveRoom' }), as(MIA, { type: 'JoinRoom' })).members.get(MIA)).toBe('OWNER');
  });

  it('keeps a direct room to its two users: opened once, nobody joins, nobody leaves, nobody manages', () => {
    const DIRECT = directRoomId(OWEN, ADA);
    const open = { ...as(OWEN, { type: 'OpenDirect', peerId: ADA }), roomId: DIRECT };
    expect(code(open, initialRoomState)).toBe('RoomCreated,MemberJoined');
    const direct = given(open);
    expect([...direct.members]).toEqual([
      [OWEN, 'OWNER'],
      [ADA, 'OWNER'],
    ]);
    expect(code({ ...as(ADA, { type: 'OpenDirect', peerId: OWEN }), roomId: DIRECT }, direct)).toBe('no-op');
    expect(code(as(MIA, { type: 'JoinRoom' }), direct)).toBe('FORBIDDEN');
    expect(code(as(OWEN, { type: 'InviteMember', userId: MIA }), direct)).toBe('FORBIDDEN');
    expect(code(as(OWEN, { type: 'LeaveRoom' }), direct)).toBe('FORBIDDEN');
    expect(code(as(OWEN, { type: 'OpenDirect', peerId: OWEN }), initialRoomState)).toBe('INVALID_INPUT');
    const message = {
      ...as(ADA, {
        type: 'SendMessage',
        messageId: '0b6f0d5e-5d5b-4f59-8a38-3f7c1d9a2b10',
        body: 'hi',
        replyTo: null,
        format: 'PLAIN',
        attachments: [],
      }),
      commandId: 'k1',
    };
    expect(code(message, direct)).toBe('MessageSent');
  });

  it('creates a room only under the id the server derives from its creator and key, never one a command names', () => {
    const forged = { ...publicRoom, roomId: directRoomId(ADA, MIA) };
    expect(code(forged, initialRoomState)).toBe('INVALID_INPUT');
    expect(code({ ...publicRoom, actorId: ADA }, initialRoomState)).toBe('INVALID_INPUT');
    expect(code({ ...publicRoom, commandId: null }, initialRoomState)).toBe('INVALID_INPUT');
    expect(code(publicRoom, initialRoomState)).toBe('RoomCreated');
  });

  it('opens a direct room only under the id the server derives from its two users, never one a command names', () => {
    // The hijack: Mia computes the id of Owen and Ada's direct room and opens it with Ada as
    // the peer, which would make Mia and Ada its members. Refused whether the room exists or not.
    const hijack = { ...as(MIA, { type: 'OpenDirect', peerId: ADA }), roomId: directRoomId(OWEN, ADA) };
    expect(code(hijack, initialRoomState)).toBe('INVALID_INPUT');
    const theirs = given({ ...as(OWEN, { type: 'OpenDirect', peerId: ADA }), roomId: directRoomId(OWEN, ADA) });
    expect(code(hijack, theirs)).toBe('INVALID_INPUT');
    // Any other id (a group room's, a random one) is refused too; the derived one is symmetric.
    expect(code(as(OWEN, { type: 'OpenDirect', peerId: ADA }), initialRoomState)).toBe('INVALID_INPUT');
    expect(directRoomId(ADA, OWEN)).toBe(directRoomId(OWEN, ADA));
    expect(code({ ...as(ADA, { type: 'OpenDirect', peerId: OWEN }), roomId: directRoomId(OWEN, ADA) }, initialRoomState)).toBe(
      'RoomCreated,MemberJoined',
    );
  });

  it('refuses malformed member ids, roles, visibilities and topics at the door', () => {
    const room = given(...staffed);
    expect(code(as(OWEN, { type: 'InviteMember', userId: 'not-a-uuid' }), room)).toBe('INVALID_INPUT');
    expect(code(as(OWEN, { type: 'SetMemberRole', userId: MIA, role: 'GOD' as 'OWNER' }), room)).toBe('INVALID_INPUT');
    expect(code(as(OWEN, { type: 'CreateRoom', name: 'x', topic: null, visibility: 'SECRET' as 'PUBLIC' }), initialRoomState)).toBe(
      'INVALID_INPUT',
    );
    expect(code(as(OWEN, { type: 'SetRoomTopic', topic: 'a\u0000b' }), room)).toBe('INVALID_INPUT');
    expect(code(as(OWEN, { type: 'SetRoomTopic', topic: 't'.repeat(501) }), room)).toBe('INVALID_INPUT');
  });
});
