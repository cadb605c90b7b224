import { describe, expect, it } from 'vitest';
import { ATTACH_LANE, LiveQueue, type LaneOwner } from '../src/app/live-queue.ts';

// The queue under every live subscription: what it hands on, in what order, and when it stops.

describe('live queue', () => {
  it('starts its producer on the first read, hands values on in order, and ends after the values pushed', async () => {
    let started = 0;
    let undone = 0;
    const queue = new LiveQueue<number>((q) => {
      started++;
      q.push(1);
      q.run(async () => void q.push(2));
      return () => undone++;
    });
    expect(started).toBe(0);
    expect(await queue.next()).toEqual({ done: false, value: 1 });
    expect(await queue.next()).toEqual({ done: false, value: 2 });
    const waiting = queue.next();
    queue.push(3); // straight to the waiting reader
    expect(await waiting).toEqual({ done: false, value: 3 });
    queue.push(4);
    queue.end();
    expect(queue.push(5)).toBeUndefined(); // after the end: dropped
    expect(await queue.next()).toEqual({ done: false, value: 4 });
    expect(await queue.next()).toEqual({ done: true, value: undefined });
    expect([started, undone]).toEqual([1, 1]);
  });

  it('makes a producer wait while its reader is 200 behind, until it has caught up', async () => {
    const queue = new LiveQueue<number>(() => () => undefined);
    const first = queue.next();
    queue.push(0);
    await first;
    let full: Promise<void> | undefined;
    for (let i = 1; i <= 200 && !full; i++) full = queue.push(i);
    expect(full).toBeInstanceOf(Promise);
    let resumed = false;
    void full!.then(() => (resumed = true));
    for (let i = 0; i < 100; i++) await queue.next();
    await Promise.resolve();
    expect(resumed).toBe(false); // 100 still waiting
    for (let i = 0; i < 60; i++) await queue.next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(resumed).toBe(true);
  });

  it('fails after the values pushed when a step throws, and stops at once when the reader leaves', async () => {
    const failing = new LiveQueue<number>((q) => {
      q.push(1);
      q.run(async () => {
        throw new Error('gone');
      });
      q.run(async () => void q.push(99)); // never runs: the stream failed before it
      return () => undefined;
    });
    expect(await failing.next()).toEqual({ done: false, value: 1 });
    await expect(failing.next()).rejects.toThrow('gone');
    expect(await failing.next()).toEqual({ done: true, value: undefined });

    let undone = false;
    const left = new LiveQueue<number>(() => () => (undone = true));
    const pending = left.next();
    await left.return();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect([undone, left.closed, left.push(1)]).toEqual([true, true, undefined]);
  });
});

describe('live queue with a lane', () => {
  /** A lane that takes what it is offered and holds it until told. */
  const holdingLane = () => {
    const lane = {
      held: [] as number[],
      closed: false,
      owner: undefined as LaneOwner<number> | undefined,
      get busy() {
        return lane.held.length > 0;
      },
      offer: (value: number) => (lane.held.push(value), true),
      close: () => void ((lane.closed = true), (lane.held = [])),
    };
    return lane;
  };

  it('offers a live value to its lane only at the live edge: the reader waiting and nothing buffered', async () => {
    const queue = new LiveQueue<number>(() => () => undefined);
    const lane = holdingLane();
    queue[ATTACH_LANE]((owner) => ((lane.owner = owner), lane));
    queue.pushLive(1); // no reader waiting yet: buffered for it
    expect(await queue.next()).toEqual({ done: false, value: 1 });
    const waiting = queue.next();
    queue.pushLive(2);
    queue.pushLive(3);
    expect(lane.held).toEqual([2, 3]);
    queue.push(4); // a replayed value: the reader's, after what the lane holds
    queue.end();
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(settled).toBe(false); // neither 4 nor the end may overtake 2 and 3
    lane.held = [];
    lane.owner!.idle();
    expect(await waiting).toEqual({ done: false, value: 4 });
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });

  it('hands the values its lane gives back to the reader first, and fails only after them', async () => {
    const queue = new LiveQueue<number>(() => () => undefined);
    const lane = holdingLane();
    queue[ATTACH_LANE]((owner) => ((lane.owner = owner), lane));
    const waiting = queue.next();
    queue.pushLive(1);
    queue.pushLive(2);
    queue.push(3);
    queue.fail(new Error('no longer a member'));
    const back = lane.held;
    lane.held = [];
    lane.owner!.giveBack(back);
    expect(await waiting).toEqual({ done: false, value: 1 });
    expect(await queue.next()).toEqual({ done: false, value: 2 });
    expect(await queue.next()).toEqual({ done: false, value: 3 });
    await expect(queue.next()).rejects.toThrow('no longer a member');
  });

  it('closes its lane when the reader leaves, dropping what it held', async () => {
    const queue = new LiveQueue<number>(() => () => undefined);
    const lane = holdingLane();
    queue[ATTACH_LANE]((owner) => ((lane.owner = owner), lane));
    const waiting = queue.next();
    queue.pushLive(1);
    await queue.return();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect([lane.closed, lane.held]).toEqual([true, []]);
  });
});
