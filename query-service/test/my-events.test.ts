import type { RoomEventView } from '@chat/schemas';
import { describe, expect, it } from 'vitest';
import type { LiveSignal } from '../src/adapters/fanout.ts';
import { MyEventsHub, TooManyRooms, type MyEvent, type MyEventSource } from '../src/app/my-events.ts';

// The bound on myEvents: one follower per user in a process however many streams they open,
// at most `maxRooms` rooms followed, and a typed end (never a partial stream) past it. The
// source is an in-memory fan-out: what is checked is which channels are held, and when.

type Listener = (signal: LiveSignal) => void;

class MemoryFanout implements MyEventSource {
  readonly rooms = new Map<string, Set<Listener>>();
  readonly users = new Map<string, Set<Listener>>();
  roomReads = 0;
  private readonly memberships: Map<string, string[]>;

  constructor(memberships: Record<string, string[]>) {
    this.memberships = new Map(Object.entries(memberships));
  }

  async roomIdsOf(userId: string, limit: number): Promise<string[]> {
    this.roomReads += 1;
    return (this.memberships.get(userId) ?? []).slice(0, limit);
  }

  subscribe(roomId: string, listener: Listener): () => void {
    return listen(this.rooms, roomId, listener);
  }

  subscribeUser(userId: string, listener: Listener): () => void {
    return listen(this.users, userId, listener);
  }

  /** Listeners held, over every room. */
  get roomListeners(): number {
    return [...this.rooms.values()].reduce((sum, set) => sum + set.size, 0);
  }

  toRoom(event: RoomEventView): void {
    for (const listener of this.rooms.get(event.roomId) ?? []) listener(event);
  }

  toUser(userId: string, event: RoomEventView): void {
    for (const listener of this.users.get(userId) ?? []) listener(event);
  }
}

function listen(registry: Map<string, Set<Listener>>, key: string, listener: Listener): () => void {
  const set = registry.get(key) ?? new Set();
  registry.set(key, set);
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) registry.delete(key);
  };
}

const event = (roomId: string, type: string, actorId: string, data: Record<string, unknown>): RoomEventView => ({
  roomId,
  revision: 1,
  type,
  actorId,
  occurredAt: 0,
  data,
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('myEvents bound', () => {
  it("shares one follower among a user's streams: one listener per room, whatever the number of streams", async () => {
    const fanout = new MemoryFanout({ ann: ['r1', 'r2', 'r3'] });
    const hub = new MyEventsHub(fanout, 10);
    const streams = [hub.events('ann'), hub.events('ann'), hub.events('ann')];
    const firsts = streams.map((stream) => stream.next());
    await settle();
    expect(fanout.roomReads).toBe(1);
    expect(fanout.roomListeners).toBe(3);
    expect(fanout.users.get('ann')?.size).toBe(1);

    fanout.toRoom(event('r2', 'MessageSent', 'bob', { messageId: 'm1', mentions: ['ann'] }));
    const expected: MyEvent = { kind: 'unread-changed', roomId: 'r2' };
    for (const first of firsts) expect(await first).toEqual({ done: false, value: expected });

    // The last stream to end lets every channel go.
    await streams[0]!.return();
    await streams[1]!.return();
    expect(fanout.roomListeners).toBe(3);
    await streams[2]!.return();
    expect([fanout.roomListeners, fanout.users.size, hub.followedUsers]).toEqual([0, 0, 0]);
  });

  it('follows a user at the bound, and refuses one past it with LIMIT_REACHED, holding nothing', async () => {
    const fanout = new MemoryFanout({ ann: ['r1', 'r2'], bob: ['r1', 'r2', 'r3'] });
    const hub = new MyEventsHub(fanout, 2);
    const ann = hub.events('ann');
    const pending = ann.next();
    await settle();
    expect(fanout.roomListeners).toBe(2);

    const bob = hub.events('bob');
    const refused = await bob.next().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TooManyRooms);
    expect(refused).toMatchObject({ limit: 2 });
    expect(fanout.roomListeners).toBe(2); // ann's only
    expect(fanout.users.has('bob')).toBe(false);
    await ann.return();
    await pending;
  });

  it('ends every stream of a user on a join past the bound, rather than miss the new room', async () => {
    const fanout = new MemoryFanout({ ann: ['r1'] });
    const hub = new MyEventsHub(fanout, 2);
    const [one, two] = [hub.events('ann'), hub.events('ann')];
    const [oneNext, twoNext] = [one.next(), two.next()];
    await settle();

    fanout.toUser('ann', event('r2', 'MemberJoined', 'ann', { userId: 'ann' }));
    expect(await oneNext).toEqual({ done: false, value: { kind: 'joined', roomId: 'r2' } });
    expect(await twoNext).toEqual({ done: false, value: { kind: 'joined', roomId: 'r2' } });
    expect(fanout.roomListeners).toBe(2);

    fanout.toUser('ann', event('r3', 'MemberJoined', 'bob', { userId: 'ann' }));
    await expect(one.next()).rejects.toBeInstanceOf(TooManyRooms);
    await expect(two.next()).rejects.toBeInstanceOf(TooManyRooms);
    expect([fanout.roomListeners, fanout.users.size, hub.followedUsers]).toEqual([0, 0, 0]);
  });

  it('lets a room go when the user leaves it, which makes room for another', async () => {
    const fanout = new MemoryFanout({ ann: ['r1', 'r2'] });
    const hub = new MyEventsHub(fanout, 2);
    const stream = hub.events('ann');
    const first = stream.next();
    await settle();

    fanout.toRoom(event('r1', 'MemberLeft', 'ann', { userId: 'ann' }));
    expect(await first).toEqual({ done: false, value: { kind: 'left', roomId: 'r1' } });
    expect(fanout.rooms.has('r1')).toBe(false);

    fanout.toUser('ann', event('r3', 'MemberJoined', 'ann', { userId: 'ann' }));
    expect(await stream.next()).toEqual({ done: false, value: { kind: 'joined', roomId: 'r3' } });
    expect([...fanout.rooms.keys()].sort()).toEqual(['r2', 'r3']);
    await stream.return();
  });

  it("ends only the stream of a reader that fell 1,024 events behind, not the user's others", async () => {
    const fanout = new MemoryFanout({ ann: ['r1'] });
    const hub = new MyEventsHub(fanout, 2);
    const [slow, quick] = [hub.events('ann'), hub.events('ann')];
    void slow.next();
    let read = quick.next();
    await settle();
    const sent = event('r1', 'MessageSent', 'bob', { messageId: 'm' });
    for (let i = 0; i < 1100; i++) {
      fanout.toRoom(sent);
      expect(await read).toEqual({ done: false, value: { kind: 'unread-changed', roomId: 'r1' } });
      read = quick.next();
    }
    await expect(drain(slow)).rejects.toThrow(/1024/);
    fanout.toRoom(sent);
    expect(await read).toEqual({ done: false, value: { kind: 'unread-changed', roomId: 'r1' } });
    await quick.return();
    expect(fanout.roomListeners).toBe(0);
  });
});

async function drain(stream: AsyncIterator<unknown>): Promise<void> {
  for (let next = await stream.next(); !next.done; next = await stream.next());
}
