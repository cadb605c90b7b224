import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, createRedis, loadConfig } from '@chat/platform';
import { RedisUserSlots } from '../src/adapters/redis-user-slots.ts';
import { SubscriptionCaps } from '../src/app/subscription-caps.ts';
import { removeAfterAll } from '../../test/src/leftovers.ts';

// Two instances' caps over one real Redis: a user's operations count wherever they are open.

const redis = createRedis(loadConfig());
const prefix = `t_caps_${Date.now().toString(36)}:`;
removeAfterAll(prefix);
const log = createLogger('test', 'error');

afterAll(() => {
  redis.disconnect();
});

describe('subscription caps', () => {
  it('caps operations per socket, and per user across instances, freeing a slot on completion', async () => {
    const [slotsA, slotsB] = [new RedisUserSlots(redis, prefix, log), new RedisUserSlots(redis, prefix, log)];
    const [a, b] = [new SubscriptionCaps({ perSocket: 2, perUser: 3 }, slotsA), new SubscriptionCaps({ perSocket: 2, perUser: 3 }, slotsB)];
    const [socket1, socket2, socket3] = [{}, {}, {}];
    expect(await a.admit(socket1, '1', 'u')).toBeUndefined();
    expect(await a.admit(socket1, '2', 'u')).toBeUndefined();
    expect((await a.admit(socket1, '3', 'u'))?.message).toMatch(/on one connection/);
    expect(await b.admit(socket2, '1', 'u')).toBeUndefined();
    const refused = await b.admit(socket2, '2', 'u');
    expect([refused?.extensions.code, refused?.message]).toEqual(['TOO_MANY_SUBSCRIPTIONS', 'at most 3 operations at once per user']);
    expect(await b.admit(socket2, '2', 'v')).toBeUndefined();
    // Anonymous operations count on their socket only.
    expect(await b.admit(socket3, '1', undefined)).toBeUndefined();

    a.release(socket1, '1');
    a.release(socket1, '1'); // twice changes nothing
    await expect.poll(() => b.admit(socket3, '2', 'u')).toBeUndefined();
    expect((await a.admit(socket1, '4', 'u'))?.message).toMatch(/per user/);
    a.releaseSocket(socket1);
    b.releaseSocket(socket2);
    b.releaseSocket(socket3);
    await expect.poll(() => redis.zcard(`${prefix}open-subscriptions:u`)).toBe(0);
  });

  it('stops counting the operations of an instance that died, once their leases end', async () => {
    const dead = new RedisUserSlots(redis, prefix, log, 300);
    const alive = new RedisUserSlots(redis, prefix, log, 300);
    alive.start();
    try {
      expect(await dead.take('w', 2)).toBeDefined();
      expect(await alive.take('w', 2)).toBeDefined();
      expect(await alive.take('w', 2)).toBeUndefined();
      // The dead instance never renews; the live one does, so only its slot outlives the lease.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await alive.take('w', 2)).toBeDefined();
      expect(await alive.take('w', 2)).toBeUndefined();
    } finally {
      await alive.stop();
    }
    // The dead one's ended lease was dropped by a later take; the live one handed its slots back.
    expect(await redis.zcard(`${prefix}open-subscriptions:w`)).toBe(0);
  });
});
