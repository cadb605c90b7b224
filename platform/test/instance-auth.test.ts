import { describe, expect, it } from 'vitest';
import { INSTANCE_HEADERS, InstanceAuth, isInstanceRefusal } from '../src/instance-auth.ts';

// The signature of instance-to-instance calls: what it covers, how long it lives, and that it
// is spent once.

const SECRET = 'a'.repeat(40);
const request = { method: 'POST', path: '/internal/commands', body: '{"type":"JoinRoom"}', clientAddress: '203.0.113.7' };

describe('instance signatures', () => {
  it('verify for the same secret, naming the instance and the address it vouches for', () => {
    const headers = new InstanceAuth(SECRET, 'command-1').sign(request);
    const verdict = new InstanceAuth(SECRET, 'command-2').verify(request, headers);
    expect(verdict).toEqual({ instance: 'command-1', clientAddress: '203.0.113.7' });
    const own = { method: 'GET', path: '/partitions' };
    const ownCall = new InstanceAuth(SECRET, 'command-1').sign(own);
    expect(new InstanceAuth(SECRET, 'command-2').verify(own, ownCall)).toEqual({ instance: 'command-1', clientAddress: undefined });
  });

  it('are refused under another secret, or with the body, path, method or vouched address changed', () => {
    const headers = new InstanceAuth(SECRET, 'command-1').sign(request);
    const changed = [
      { ...request, body: '{"type":"LeaveRoom"}' },
      { ...request, path: '/partitions' },
      { ...request, method: 'GET' },
    ];
    for (const other of changed)
      expect(new InstanceAuth(SECRET, 'receiver').verify(other, headers)).toMatchObject({ refused: 'bad instance signature' });
    const forgedAddress = { ...headers, [INSTANCE_HEADERS.clientAddress]: '198.51.100.1' };
    expect(new InstanceAuth(SECRET, 'receiver').verify(request, forgedAddress)).toMatchObject({ refused: 'bad instance signature' });
    expect(new InstanceAuth('b'.repeat(40), 'receiver').verify(request, headers)).toMatchObject({ refused: 'bad instance signature' });
  });

  it('are refused when missing, outside their 30 s window, or played a second time', () => {
    const receiver = new InstanceAuth(SECRET, 'receiver');
    expect(receiver.verify(request, {})).toMatchObject({ refused: 'not signed by an instance' });
    const old = new InstanceAuth(SECRET, 'command-1').sign(request, Date.now() - 31_000);
    expect(receiver.verify(request, old)).toMatchObject({ refused: 'signature out of its time window' });
    const fresh = new InstanceAuth(SECRET, 'command-1').sign(request);
    expect(isInstanceRefusal(receiver.verify(request, fresh))).toBe(false);
    expect(receiver.verify(request, fresh)).toMatchObject({ refused: 'request replayed' });
  });

  it('need a secret of at least 32 characters', () => {
    expect(() => new InstanceAuth('short', 'x')).toThrow(/at least 32/);
  });
});
