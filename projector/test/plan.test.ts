import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '@chat/schemas';
import { messageKey, planBatch } from '../src/domain/plan.ts';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
let n = 0;
const sent = (roomId: string, actorId: string, commandId: string): DomainEvent => ({
  type: 'MessageSent',
  eventId: `e${++n}`,
  occurredAt: 1000 + n,
  actorId,
  commandId,
  roomId,
  messageId: `m${n}`,
  body: `body ${n}`,
});
const none = { lastSequence: new Map<string, number>(), storedMessages: new Set<string>() };

describe('batch plan', () => {
  it('numbers each room from its last sequence, with no gaps, in log order', () => {
    const plan = planBatch([sent(A, 'u', '1'), sent(B, 'u', '2'), sent(A, 'u', '3')], { ...none, lastSequence: new Map([[A, 41]]) });
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

  it('skips a second event for an idempotency key already stored or earlier in the batch, without a gap', () => {
    const stored = new Set([messageKey(A, 'u', 'dup-stored')]);
    const plan = planBatch([sent(A, 'u', 'dup-stored'), sent(A, 'u', 'x'), sent(A, 'u', 'x'), sent(A, 'v', 'x')], {
      ...none,
      storedMessages: stored,
    });
    expect(plan.messages.map((m) => [m.senderId, m.clientMessageId, m.sequence])).toEqual([
      ['u', 'x', 1],
      ['v', 'x', 2],
    ]);
  });

  it('makes the creator a member and announces joins and messages', () => {
    const events: DomainEvent[] = [
      { type: 'RoomCreated', eventId: 'r', occurredAt: 1, actorId: 'alice', commandId: null, roomId: A, name: 'general' },
      { type: 'MemberJoined', eventId: 'j', occurredAt: 2, actorId: 'bob', commandId: null, roomId: A, userId: 'bob' },
      sent(A, 'bob', 'hello'),
    ];
    const plan = planBatch(events, none);
    expect(plan.rooms).toEqual([{ roomId: A, name: 'general', createdBy: 'alice', createdAt: 1 }]);
    expect(plan.members.map((m) => m.userId)).toEqual(['alice', 'bob']);
    expect(plan.notifications.map((x) => x.kind)).toEqual(['member-joined', 'member-joined', 'message']);
  });
});
