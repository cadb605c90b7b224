import { describe, expect, it } from 'vitest';
import { PartitionState } from '../src/app/partition-state.ts';
import type { RoomEvent } from '../src/domain/room.ts';

const ROOM = '6f1c4a52-34b5-4a8e-9d07-1c2b3d4e5f60';
const base = { roomId: ROOM };
const created: RoomEvent = {
  ...base,
  type: 'RoomCreated',
  topic: null,
  visibility: 'PUBLIC',
  kind: 'GROUP',
  eventId: 'e1',
  occurredAt: 1_000,
  actorId: 'alice',
  commandId: 'c1',
  revision: 1,
  name: 'general',
};
const joined: RoomEvent = {
  ...base,
  type: 'MemberJoined',
  role: 'MEMBER',
  eventId: 'e2',
  occurredAt: 2_000,
  actorId: 'bob',
  commandId: null,
  revision: 2,
  userId: 'bob',
};
const sent: RoomEvent = {
  ...base,
  type: 'MessageSent',
  format: 'PLAIN',
  attachments: [],
  replyTo: null,
  eventId: 'e3',
  occurredAt: 3_000,
  actorId: 'bob',
  commandId: 'k1',
  revision: 3,
  messageId: 'm1',
  body: 'hi',
};

describe('partition state', () => {
  it('applies each offset once, in order, and moves past records that carry no event', () => {
    const state = new PartitionState();
    state.apply(created, 10n);
    state.apply(joined, 11n);
    state.apply(created, 10n); // the log handing back a record already applied
    expect(state.room(ROOM)).toMatchObject({
      status: 'open',
      members: new Map([
        ['alice', 'OWNER'],
        ['bob', 'MEMBER'],
      ]),
      revision: 2,
    });
    state.advanceTo(13n); // a transaction marker at 12
    expect(state.nextOffset).toBe(13n);
  });

  it('indexes accepted commands per room, user and key', () => {
    const state = new PartitionState();
    state.apply(created, 0n);
    state.apply(sent, 2n);
    expect(state.accepted(ROOM, 'bob', 'k1')).toEqual({
      eventType: 'MessageSent',
      eventId: 'e3',
      offset: '2',
      revision: 3,
      messageId: 'm1',
      occurredAt: 3_000,
    });
    expect(state.accepted(ROOM, 'alice', 'k1')).toBeUndefined();
    expect(state.accepted('another-room', 'bob', 'k1')).toBeUndefined();
  });

  it('forgets keys older than the window, oldest first', () => {
    const state = new PartitionState();
    state.apply(created, 0n);
    state.apply(sent, 1n);
    expect(state.expireKeys(2_000)).toBe(1);
    expect(state.accepted(ROOM, 'alice', 'c1')).toBeUndefined();
    expect(state.accepted(ROOM, 'bob', 'k1')).toBeDefined();
    // A key older than the window, folded later, is not indexed at all.
    state.apply({ ...sent, commandId: 'late', occurredAt: 1_500 }, 2n);
    expect(state.accepted(ROOM, 'bob', 'late')).toBeUndefined();
  });

  it('round-trips through a snapshot, as JSON', () => {
    const state = new PartitionState();
    state.apply(created, 4n);
    state.apply(joined, 5n);
    state.apply(sent, 6n);
    const restored = PartitionState.fromSnapshot(JSON.parse(JSON.stringify(state.toSnapshot())));
    expect(restored.nextOffset).toBe(7n);
    expect(restored.room(ROOM)).toEqual(state.room(ROOM));
    expect(restored.accepted(ROOM, 'bob', 'k1')).toEqual(state.accepted(ROOM, 'bob', 'k1'));
  });
});
