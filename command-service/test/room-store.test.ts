import { describe, expect, it } from 'vitest';
import { RoomStore } from '../src/app/room-store.ts';
import type { RoomEvent } from '../src/domain/room.ts';

const ROOM = '6f1c4a52-34b5-4a8e-9d07-1c2b3d4e5f60';
const base = { occurredAt: 1, roomId: ROOM };

describe('room store', () => {
  it('applies each log position once, whether it comes from the append or the log', () => {
    const store = new RoomStore();
    const created: RoomEvent = { ...base, type: 'RoomCreated', eventId: 'e1', actorId: 'alice', commandId: null, name: 'general' };
    const joined: RoomEvent = { ...base, type: 'MemberJoined', eventId: 'e2', actorId: 'bob', commandId: null, userId: 'bob' };
    store.apply(created, { partition: 0, offset: '10' });
    store.apply(joined, { partition: 0, offset: '11' });
    store.apply(created, { partition: 0, offset: '10' });
    expect(store.state(ROOM)).toMatchObject({ status: 'open', members: new Set(['alice', 'bob']) });
  });

  it('indexes accepted commands by actor and idempotency key', () => {
    const store = new RoomStore();
    const sent: RoomEvent = { ...base, type: 'MessageSent', eventId: 'e3', actorId: 'bob', commandId: 'k1', messageId: 'm1', body: 'hi' };
    store.apply(sent, { partition: 2, offset: '5' });
    expect(store.acceptedCommand('bob', 'k1')).toEqual({
      eventType: 'MessageSent',
      roomId: ROOM,
      eventId: 'e3',
      position: { partition: 2, offset: '5' },
      messageId: 'm1',
    });
    // Keys belong to their sender: another user's identical key is a different command.
    expect(store.acceptedCommand('alice', 'k1')).toBeUndefined();
  });
});
