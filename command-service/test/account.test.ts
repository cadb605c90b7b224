import { describe, expect, it } from 'vitest';
import { checkAvatarUrl, checkPassword, checkUsername, decideProfileUpdate, decideSignUp, usernameKey } from '../src/domain/account.ts';
import { hashPassword, verifyPassword } from '../src/app/passwords.ts';

describe('usernames', () => {
  it('are the same account ignoring case and Unicode form', () => {
    const spellings = ['Zoë', 'ZOË', 'zoe\u0308', 'ZOE\u0308', 'Ｚｏë'];
    expect(new Set(spellings.map(usernameKey))).toEqual(new Set(['zoë']));
    expect(usernameKey('zoe')).not.toBe(usernameKey('zoë'));
  });

  it('are kept as typed (NFC), within 3 to 32 letters, digits, dot, dash and underscore', () => {
    expect(checkUsername('zoe\u0308')).toBe('zoë');
    expect(checkUsername('ann.lee_2-b')).toBe('ann.lee_2-b');
    expect(checkUsername('名前です')).toBe('名前です');
    for (const bad of ['ab', 'a'.repeat(33), 'has space', 'at@sign', 'x\u0000y', 'x\ud800y', '   ', '<script>']) {
      expect(checkUsername(bad), JSON.stringify(bad)).toMatchObject({ code: 'INVALID_INPUT' });
    }
  });
});

describe('passwords', () => {
  it('are 8 to 256 characters, NFKC-normalized, without control characters', () => {
    expect(checkPassword('ｐａｓｓｗｏｒｄ')).toBe('password');
    expect(checkPassword('with spaces is fine')).toBe('with spaces is fine');
    expect(checkPassword('1234567')).toMatchObject({ code: 'INVALID_INPUT' });
    expect(checkPassword('x'.repeat(257))).toMatchObject({ code: 'INVALID_INPUT' });
    expect(checkPassword('x'.repeat(100_000))).toMatchObject({ code: 'INVALID_INPUT' });
    expect(checkPassword('pass\u0000word')).toMatchObject({ code: 'INVALID_INPUT' });
    expect(checkPassword('pass\ud800word')).toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('hash with argon2id into a PHC string that verifies only the same password', async () => {
    const hash = await hashPassword('correct horse battery');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
    expect(await hashPassword('correct horse battery')).not.toBe(hash); // salted
    expect(await verifyPassword('anything', 'not a hash')).toBe(false);
  });
});

describe('sign-up and profile decisions', () => {
  it('records UserRegistered with the display name defaulting to the username, and nothing secret', () => {
    const event = decideSignUp({ userId: 'u-1', username: 'zoe\u0308', displayName: null, commandId: 'k' }, 1000);
    expect(event).toMatchObject({
      type: 'UserRegistered',
      userId: 'u-1',
      actorId: 'u-1',
      username: 'zoë',
      displayName: 'zoë',
      occurredAt: 1000,
    });
    expect(Object.keys(event).sort()).toEqual([
      'actorId',
      'commandId',
      'displayName',
      'eventId',
      'occurredAt',
      'type',
      'userId',
      'username',
    ]);
  });

  it('changes only what is given, clears with null, and records nothing when nothing changes', () => {
    const current = { displayName: 'Zoë', avatarUrl: 'https://example.org/z.png', bio: 'hi' };
    expect(decideProfileUpdate('u-1', current, { bio: null }, 5)).toMatchObject({
      type: 'ProfileUpdated',
      displayName: 'Zoë',
      avatarUrl: 'https://example.org/z.png',
      bio: null,
    });
    expect(decideProfileUpdate('u-1', current, { displayName: 'Zoë' }, 5)).toBeNull();
    expect(decideProfileUpdate('u-1', current, { displayName: null }, 5)).toMatchObject({ code: 'INVALID_INPUT' });
    expect(decideProfileUpdate('u-1', current, { bio: 'b'.repeat(501) }, 5)).toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('takes only https avatars without credentials', () => {
    expect(checkAvatarUrl('https://example.org/a.png')).toBeUndefined();
    for (const bad of [
      'http://example.org/a.png',
      'javascript:alert(1)',
      'data:image/png;base64,AA',
      'https://user:pw@example.org/a',
      'nope',
    ]) {
      expect(checkAvatarUrl(bad), bad).toMatchObject({ code: 'INVALID_INPUT' });
    }
  });
});
