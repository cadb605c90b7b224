import { describe, expect, it } from 'vitest';
import type { RoomDomainEvent } from '@chat/schemas';
import { planBatch, storedRoomEvent, type PlannedRecord } from '../src/domain/plan.ts';

// The plan keys every change of a message by its room and id, and a deletion takes out of the
// batch whatever the message said: edits' texts, reactions, mentions (issue 18).

const A = '11111111-1111-4111-8111-111111111111';
const M = '22222222-2222-4222-8222-222222222222';
const X = '33333333-3333-4333-8333-333333333333';
let revision = 0;
const envelope = (roomId: string, actorId: string) => ({
  eventId: `e${++revision}`,
  occurredAt: revision,
  actorId,
  commandId: null,
  roomId,
  revision,
});
const at = (...events: RoomDomainEvent[]): PlannedRecord[] => events.map((event, i) => ({ offset: String(i), event }));
const known = { lastSequence: new Map<string, number>(), revision: new Map<string, number>(), usersByName: new Map([['bobby', 'bob']]) };

describe('batch plan, messages by room', () => {
  it('keys edits, deletes and reactions by room and message, so the same id in two rooms never merges', () => {
    const plan = planBatch(
      at(
        { ...envelope(A, 'alice'), type: 'MessageEdited', messageId: X, body: 'alice’s' },
        { ...envelope(M, 'mallory'), type: 'MessageEdited', messageId: X, body: 'mallory’s' },
        { ...envelope(M, 'mallory'), type: 'ReactionAdded', messageId: X, emoji: '👍' },
        { ...envelope(M, 'mallory'), type: 'MessageDeleted', messageId: X },
      ),
      known,
    );
    expect([...plan.edits.values()]).toEqual([
      { roomId: A, messageId: X, body: 'alice’s', editedAt: 1 },
      { roomId: M, messageId: X, body: '', editedAt: 2 },
    ]);
    expect(plan.editTexts).toEqual([{ roomId: A, messageId: X, revision: 1, body: 'alice’s', contentShare: null }]);
    expect([...plan.deletes.values()]).toEqual([{ roomId: M, messageId: X, at: 4 }]);
    expect(plan.reactions.size).toBe(0);
  });

  it('drops from the batch what a message deleted in it said, and never stores an edit’s text in room_events', () => {
    const plan = planBatch(
      at(
        { ...envelope(A, 'alice'), type: 'MessageSent', messageId: X, body: 'hi @bobby', replyTo: null, format: 'PLAIN', attachments: [] },
        { ...envelope(A, 'alice'), type: 'MessageEdited', messageId: X, body: 'second thoughts' },
        { ...envelope(A, 'bob'), type: 'ReactionAdded', messageId: X, emoji: '👍' },
        { ...envelope(A, 'alice'), type: 'MessageDeleted', messageId: X },
      ),
      known,
    );
    expect(plan.editTexts).toEqual([]);
    expect(plan.mentions).toEqual([]);
    expect(plan.reactions.size).toBe(0);
    // The edit's time is kept (as when the delete comes in a later batch), never its text.
    expect([...plan.edits.values()]).toEqual([{ roomId: A, messageId: X, body: '', editedAt: expect.any(Number) }]);
    const edited = plan.roomEvents.find((e) => e.type === 'MessageEdited')!;
    expect(edited.data).toMatchObject({ body: 'second thoughts' }); // the live view, once, as it happens
    expect(storedRoomEvent(edited).data).toEqual({ messageId: X });
  });
});
