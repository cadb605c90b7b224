import { describe, expect, it } from 'vitest';
import { LiveQueue } from '../src/app/live-queue.ts';

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
