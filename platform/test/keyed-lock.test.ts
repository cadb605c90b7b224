import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../src/keyed-lock.ts';
import { sleep } from '../src/wait.ts';

describe('keyed lock', () => {
  it('runs work for one key in order, one at a time, and different keys side by side', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const job = (key: string, id: string, ms: number) =>
      lock.run(key, async () => {
        log.push(`start ${id}`);
        await sleep(ms);
        log.push(`end ${id}`);
      });
    await Promise.all([job('a', 'a1', 20), job('a', 'a2', 1), job('b', 'b1', 5)]);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
    expect(lock.size).toBe(0);
  });

  it('keeps going after a failed job', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.run('k', async () => 'next')).resolves.toBe('next');
  });
});
