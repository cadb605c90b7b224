import { describe, expect, it } from 'vitest';
import type { RoomDomainEvent } from '@chat/schemas';
import { overriddenBy, planBatch, revisionKey, type PlannedRecord } from '../src/domain/plan.ts';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
let n = 0;
const sent = (roomId: string, actorId: string, commandId: string, revision = 0): RoomDomainEvent => ({
  type: 'MessageSent',
  format: 'PLAIN',
  attachments: [],
  replyTo: null,
  eventId: `e${++n}`,
  occurredAt: 1000 + n,
  actorId,
  commandId,
  roomId,
  revision,
  messageId: `m${n}`,
  body: `body ${n}`,
});
const at = (...events: RoomDomainEvent[]): PlannedRecord[] => events.map((event, i) => ({ offset: String(100 + i), event }));
const none = { lastSequence: new Map<string, number>(), revision: new Map<string, number>() };
/** Room A created by alice, joined by bob, then bob's first message: revisions 1, 2, 3. */
const aRoomsFirstEvents = (): RoomDomainEvent[] => [
  {
    type: 'RoomCreated',
    eventId: 'r',
    occurredAt: 1,
    actorId: 'alice',
    commandId: null,
    roomId: A,
    revision: 1,
    name: 'general',
    topic: null,
    visibility: 'PUBLIC',
    kind: 'GROUP',
  },
  {
    type: 'MemberJoined',
    eventId: 'j',
    occurredAt: 2,
    actorId: 'bob',
    commandId: null,
    roomId: A,
    revision: 2,
    userId: 'bob',
    role: 'MEMBER',
  },
  sent(A, 'bob', 'hello', 3),
];

describe('batch plan', () => {
  it('numbers each room from its last sequence, with no gaps, in log order', () => {
    const plan = planBatch(at(sent(A, 'u', '1'), sent(B, 'u', '2'), sent(A, 'u', '3')), { ...none, lastSequence: new Map([[A, 41]]) });
    expect(plan.messages.map((m) => [m.roomId, m.sequence])).toEqual([
      [A, 42],
      [B, 1],
      [A, 43],
    ]);
    expect(plan.lastSequence).toEqual(
      new Map([
        [A, 43],
        [B, 1],
      ]),
    );
  });

  it('advances each room revision over every event type, and stores it with each message', () => {
    const plan = planBatch(at(...aRoomsFirstEvents()), none);
    expect(plan.revision).toEqual(new Map([[A, 3]]));
    expect(plan.messages.map((m) => m.revision)).toEqual([3]);
    expect(plan.faults).toEqual([]);
  });

  it('skips a revision already applied and reports it; applies a revision that skips ahead and reports the gap', () => {
    const known = { ...none, revision: new Map([[A, 5]]) };
    const far = sent(A, 'u', 'far', 9);
    const plan = planBatch(at(sent(A, 'u', 'old', 5), sent(A, 'u', 'next', 6), far, { ...far, commandId: 'again' }), known);
    expect(plan.messages.map((m) => m.clientMessageId)).toEqual(['next', 'far']);
    expect(plan.faults).toEqual([
      { offset: '100', roomId: A, kind: 'revision-replayed', detail: 'revision 5 after 5: skipped' },
      { offset: '102', roomId: A, kind: 'revision-gap', detail: 'revision 9 after 6: applied' },
      { offset: '103', roomId: A, kind: 'revision-replayed', detail: 'revision 9 after 9: skipped' },
    ]);
    expect(plan.revision).toEqual(new Map([[A, 9]]));
  });

  it('stops at a second event claiming a revision already applied, in the read model or earlier in the batch', () => {
    const stored = sent(A, 'u', 'stored', 5);
    const known = { ...none, revision: new Map([[A, 5]]), eventIds: new Map([[revisionKey(A, 5), stored.eventId]]) };
    const again = planBatch(at(stored, sent(A, 'u', 'next', 6)), known);
    expect(again.conflict).toBeUndefined();
    expect(again.faults.map((f) => f.kind)).toEqual(['revision-replayed']);

    const rival = planBatch(at(sent(A, 'u', 'next', 6), sent(A, 'u', 'rival', 5), sent(A, 'u', 'after', 7)), known);
    expect(rival.conflict).toEqual({
      offset: '101',
      roomId: A,
      detail: expect.stringContaining(`revision 5 holds event ${stored.eventId}`),
    });

    const inBatch = planBatch(at(sent(A, 'u', 'one', 6), sent(A, 'u', 'two', 6), sent(B, 'u', 'other', 1)), known);
    expect(inBatch.conflict).toMatchObject({ offset: '101', roomId: A });
    // Planning stopped there: the caller stops the partition before the rival.
    expect(inBatch.messages.map((m) => m.clientMessageId)).toEqual(['one']);
  });

  it('applies events written before revisions existed (revision 0) as they come, keys repeated or not', () => {
    const plan = planBatch(at(sent(A, 'u', 'x'), sent(A, 'u', 'x')), none);
    expect(plan.messages.map((m) => m.sequence)).toEqual([1, 2]);
    expect(plan.faults).toEqual([]);
  });

  it('makes the creator a member and announces joins and messages', () => {
    const plan = planBatch(at(...aRoomsFirstEvents()), none);
    expect(plan.rooms).toEqual([
      { roomId: A, name: 'general', topic: null, visibility: 'PUBLIC', kind: 'GROUP', createdBy: 'alice', createdAt: 1 },
    ]);
    expect([...plan.memberships.values()].map((m) => [m.userId, m.change === 'joined' && m.role])).toEqual([
      ['alice', 'OWNER'],
      ['bob', 'MEMBER'],
    ]);
    expect(plan.notifications.map((x) => [x.event.type, x.event.revision, x.forUser ?? 'room'])).toEqual([
      ['RoomCreated', 1, 'room'],
      ['MemberJoined', 2, 'room'],
      // The joiner hears it on their own channel too: they may not follow the room yet.
      ['MemberJoined', 2, 'bob'],
      ['MessageSent', 3, 'room'],
    ]);
    // A message's notification carries the message; its room_events row does not carry the body.
    expect(plan.notifications[3]!.event.message).toMatchObject({ sequence: 1, senderId: 'bob' });
    expect(plan.roomEvents[2]!.data).not.toHaveProperty('body');
  });

  it('leaves each membership, invitation and room name as the last event of the batch says', () => {
    const e = { eventId: 'x', occurredAt: 9, commandId: null, roomId: A } as const;
    const plan = planBatch(
      at(
        ...aRoomsFirstEvents(),
        { ...e, type: 'MemberInvited', actorId: 'alice', revision: 4, userId: 'carol' },
        { ...e, type: 'MemberRoleChanged', actorId: 'alice', revision: 5, userId: 'bob', role: 'ADMIN' },
        { ...e, type: 'MemberLeft', actorId: 'alice', revision: 6, userId: 'alice' },
        { ...e, type: 'MemberJoined', actorId: 'carol', revision: 7, userId: 'carol', role: 'MEMBER' },
        { ...e, type: 'RoomRenamed', actorId: 'bob', revision: 8, name: 'renamed' },
        { ...e, type: 'RoomTopicChanged', actorId: 'bob', revision: 9, topic: null },
      ),
      none,
    );
    expect([...plan.memberships.values()].map((m) => [m.userId, m.change, 'role' in m ? m.role : null])).toEqual([
      ['alice', 'gone', null],
      ['bob', 'joined', 'ADMIN'],
      ['carol', 'joined', 'MEMBER'],
    ]);
    // carol's invitation was used by her join; the creator's and bob's never existed (deleting them changes nothing).
    expect(plan.invitations.get(`${A}\u0000carol`)).toMatchObject({ change: 'gone' });
    expect(plan.roomUpdates.get(A)).toEqual({ name: 'renamed', topic: null });
  });
});

describe('re-driving a dead letter', () => {
  it('applies an event the room has moved past, in its place, without a fault or moving the room back', () => {
    const late = sent(A, 'bob', 'k-late', 4) as Extract<RoomDomainEvent, { type: 'MessageSent' }>;
    const known = { lastSequence: new Map([[A, 7]]), revision: new Map([[A, 9]]) };
    const replay = planBatch(at(late), known);
    expect(replay.messages).toEqual([]);
    expect(replay.faults.map((f) => f.kind)).toEqual(['revision-replayed']);

    const redriven = planBatch(at(late), { ...known, redrive: true });
    expect(redriven.faults).toEqual([]);
    expect(redriven.messages).toMatchObject([{ messageId: late.messageId, sequence: 8, revision: 4 }]);
    expect(redriven.roomEvents.map((e) => e.revision)).toEqual([4]);
    expect(redriven.revision.has(A)).toBe(false);
  });

  it('takes a superseded letter into the room history only, leaving the later state alone', () => {
    const rename: RoomDomainEvent = { ...aRoomsFirstEvents()[0]!, type: 'RoomRenamed', eventId: 'n', revision: 4, name: 'old name' };
    const known = { lastSequence: new Map([[A, 7]]), revision: new Map([[A, 9]]), redrive: true };
    const superseded = planBatch(at(rename), { ...known, superseded: new Set([revisionKey(A, 4)]) });
    expect(superseded.roomUpdates.size).toBe(0);
    expect(superseded.notifications).toEqual([]);
    expect(superseded.roomEvents.map((e) => [e.revision, e.type])).toEqual([[4, 'RoomRenamed']]);
    expect(planBatch(at(rename), known).roomUpdates.get(A)).toEqual({ name: 'old name' });
  });

  it('knows what overrides what: the same member, message or reaction later; never a message or a deletion', () => {
    const [created, joined, message] = aRoomsFirstEvents() as [RoomDomainEvent, RoomDomainEvent, RoomDomainEvent];
    expect(overriddenBy(joined)).toEqual({ types: ['MemberJoined', 'MemberLeft', 'MemberRemoved', 'MemberErased'], userId: 'bob' });
    expect(overriddenBy({ ...created, type: 'RoomRenamed', name: 'x' } as RoomDomainEvent)).toEqual({ types: ['RoomRenamed'] });
    expect(overriddenBy(created)).toBeUndefined();
    expect(overriddenBy(message)).toBeUndefined();
  });
});
