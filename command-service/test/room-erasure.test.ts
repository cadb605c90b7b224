import { describe, expect, it } from 'vitest';
import { RETENTION_ACTOR, decide, evolve, expiryCutoff, initialRoomState, type RoomCommand, type RoomEvent } from '../src/domain/room.ts';
import { given, stamp } from './decider.ts';
import { createdRoomId, directRoomId } from '../src/domain/room-ids.ts';
import { PartitionState } from '../src/app/partition-state.ts';

// A deleted account leaves every room with what it wrote (EraseMember → MemberErased), and a
// group room keeps an owner while it has members; a room's retention expires its history.

const ALICE = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';
const CAROL = '00000000-0000-4000-8000-00000000000c';
const ROOM = createdRoomId(ALICE, 'create-general');

const create: RoomCommand = {
  type: 'CreateRoom',
  roomId: ROOM,
  name: 'general',
  topic: null,
  visibility: 'PUBLIC',
  actorId: ALICE,
  commandId: 'create-general',
};
const join = (actorId: string, roomId = ROOM): RoomCommand => ({ type: 'JoinRoom', roomId, actorId, commandId: null });
const erase = (actorId: string, roomId = ROOM): RoomCommand => ({
  type: 'EraseMember',
  roomId,
  actorId,
  commandId: null,
  erasedAt: 1_700_000_000_000,
});

describe('EraseMember', () => {
  it('takes the member out with the time their keys were erased', () => {
    const state = given(create, join(BOB));
    const decision = decide(erase(BOB), state);
    expect(decision).toMatchObject({
      ok: true,
      events: [{ type: 'MemberErased', roomId: ROOM, userId: BOB, erasedAt: 1_700_000_000_000 }],
    });
    const after = stamp(decision, BOB).reduce(evolve, state);
    expect([...after.members.keys()]).toEqual([ALICE]);
    expect(after.revision).toBe(state.revision + 1);
  });

  it('reaches a room its user already left (their messages are still there)', () => {
    const state = given(create, join(BOB), { type: 'LeaveRoom', roomId: ROOM, actorId: BOB, commandId: null });
    expect(decide(erase(BOB), state)).toMatchObject({ ok: true, events: [{ type: 'MemberErased', userId: BOB }] });
  });

  it('hands a group room to the longest-standing admin, else member, when its last owner goes', () => {
    const members = given(create, join(BOB), join(CAROL));
    expect(decide(erase(ALICE), members)).toMatchObject({
      ok: true,
      events: [{ type: 'MemberErased' }, { type: 'MemberRoleChanged', userId: BOB, role: 'OWNER' }],
    });
    const withAdmin = given(create, join(BOB), join(CAROL), {
      type: 'SetMemberRole',
      roomId: ROOM,
      actorId: ALICE,
      commandId: null,
      userId: CAROL,
      role: 'ADMIN',
    });
    expect(decide(erase(ALICE), withAdmin)).toMatchObject({
      ok: true,
      events: [{}, { type: 'MemberRoleChanged', userId: CAROL, role: 'OWNER' }],
    });
    expect(decide(erase(ALICE), given(create))).toMatchObject({ ok: true, events: [{ type: 'MemberErased' }] });
  });

  it('leaves a direct room to the other user as it is', () => {
    const direct = directRoomId(ALICE, BOB);
    const state = given({ type: 'OpenDirect', roomId: direct, actorId: ALICE, commandId: null, peerId: BOB });
    const decision = decide(erase(ALICE, direct), state);
    expect(decision).toMatchObject({ ok: true, events: [{ type: 'MemberErased' }] });
    expect(decision.ok && decision.events).toHaveLength(1);
  });

  it('refuses a time that is not one, and a room that does not exist', () => {
    expect(decide({ ...erase(BOB), erasedAt: Number.NaN } as RoomCommand, given(create))).toMatchObject({
      ok: false,
      error: { code: 'INVALID_INPUT' },
    });
    expect(decide(erase(BOB), initialRoomState)).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
  });

  it("marks the member's messages deleted and drops their reactions in the command side's facts", () => {
    const state = new PartitionState();
    const base = { occurredAt: Date.now(), commandId: null, revision: 0 };
    const events: RoomEvent[] = [
      {
        ...base,
        type: 'MessageSent',
        eventId: 'e1',
        actorId: BOB,
        roomId: ROOM,
        messageId: 'm1',
        body: 'b',
        replyTo: null,
        format: 'PLAIN',
        attachments: [],
      },
      {
        ...base,
        type: 'MessageSent',
        eventId: 'e2',
        actorId: ALICE,
        roomId: ROOM,
        messageId: 'm2',
        body: 'a',
        replyTo: null,
        format: 'PLAIN',
        attachments: [],
      },
      { ...base, type: 'ReactionAdded', eventId: 'e3', actorId: BOB, roomId: ROOM, messageId: 'm2', emoji: '👍' },
      { ...base, type: 'MemberErased', eventId: 'e4', actorId: BOB, roomId: ROOM, userId: BOB, erasedAt: 1 },
    ];
    events.forEach((event, offset) => state.apply(event, BigInt(offset)));
    expect(state.fact(ROOM, 'm1')).toMatchObject({ deleted: true });
    expect(state.fact(ROOM, 'm2')).toMatchObject({ deleted: false, reactions: new Set() });
  });
});

describe('a room’s retention', () => {
  const DAY = 86_400_000;
  const now = Date.UTC(2026, 11, 6, 15, 30);
  const setRetention = (actorId: string, days: number | null): RoomCommand => ({
    type: 'SetRoomRetention',
    roomId: ROOM,
    actorId,
    commandId: null,
    days,
  });
  const expire = (before: number, actorId = RETENTION_ACTOR): RoomCommand => ({
    type: 'ExpireHistory',
    roomId: ROOM,
    actorId,
    commandId: null,
    before,
    erasedAt: now,
  });

  it('is set by owners only, within a day and ten years, or lifted with null', () => {
    const state = given(create, join(BOB));
    expect(decide(setRetention(BOB, 7), state)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    for (const days of [0, 3651, 1.5]) {
      expect(decide(setRetention(ALICE, days), state)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    }
    const set = given(create, setRetention(ALICE, 7));
    expect(set.retentionDays).toBe(7);
    expect(decide(setRetention(ALICE, 7), set)).toEqual({ ok: true, events: [] });
    expect(given(create, setRetention(ALICE, 7), setRetention(ALICE, null)).retentionDays).toBeNull();
  });

  it('expires history from the start of the UTC day `days` days ago, by the sweep only, once', () => {
    expect(expiryCutoff(7, now)).toBe(Date.UTC(2026, 10, 29));
    const state = given(create, setRetention(ALICE, 7));
    const cutoff = expiryCutoff(7, now);
    expect(decide(expire(cutoff, ALICE), state)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // Never past what the retention allows (it may have been lengthened since the sweep looked).
    expect(decide(expire(cutoff + DAY), state)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(decide(expire(cutoff), given(create))).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const decision = decide(expire(cutoff), state);
    expect(decision).toMatchObject({ ok: true, events: [{ type: 'RoomHistoryExpired', before: cutoff, erasedAt: now }] });
    const after = stamp(decision, RETENTION_ACTOR).reduce(evolve, state);
    expect(after.expiredBefore).toBe(cutoff);
    expect(decide(expire(cutoff), after)).toEqual({ ok: true, events: [] });
  });
});
