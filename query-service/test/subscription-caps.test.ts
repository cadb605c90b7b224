import { describe, expect, it } from 'vitest';
import { SubscriptionCaps } from '../src/app/subscription-caps.ts';

describe('subscription caps', () => {
  it('caps operations per socket and per user, and frees a slot on completion', () => {
    const caps = new SubscriptionCaps({ perSocket: 2, perUser: 3 });
    const [a, b] = [{}, {}];
    expect(caps.admit(a, '1', 'u')).toBeUndefined();
    expect(caps.admit(a, '2', 'u')).toBeUndefined();
    expect(caps.admit(a, '3', 'u')?.extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(caps.admit(b, '1', 'u')).toBeUndefined();
    expect(caps.admit(b, '2', 'u')?.message).toMatch(/per user/);
    expect(caps.admit(b, '2', 'v')).toBeUndefined();
    caps.release(a, '1');
    caps.release(a, '1'); // twice changes nothing
    expect(caps.openFor('u')).toBe(2);
    expect(caps.admit(b, '3', 'u')?.message).toMatch(/on one connection/);
    expect(caps.admit(a, '4', 'u')).toBeUndefined();
    caps.releaseSocket(a);
    caps.releaseSocket(b);
    expect([caps.openFor('u'), caps.openFor('v')]).toEqual([0, 0]);
  });
});
