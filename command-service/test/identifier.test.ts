import { describe, expect, it } from 'vitest';
import { checkDisplayName, checkUsername } from '../src/domain/account.ts';
import { identifierProblem, skeleton, usernameSkeleton } from '../src/domain/identifier.ts';
import { checkText } from '../src/domain/validation.ts';
import { invisibleTextProblem } from '../src/domain/visible-text.ts';

// Issue 18, attack 9: look-alike identities. The rules alone; test/security/look-alike-names
// has the attack on the real stack.

describe('usernames (UTS #39 restricted profile)', () => {
  it('keep one script, or Latin with one that is not Cyrillic or Greek', () => {
    for (const good of ['vip1', 'ann.lee_2-b', 'zoë', '名前です', '日本語カタカナabc', '한국어abc', 'Ελληνικά', 'фёдор', 'नमस्ते', 'فارسی'])
      expect(identifierProblem(good), good).toBeUndefined();
    for (const mixed of ['v\u0456p1', 'Ελληνabc', 'pаypal', 'фёдорλ']) expect(identifierProblem(mixed), mixed).toMatch(/mix scripts/);
    expect(identifierProblem('ᚠᚢᚦ')).toMatch(/not used for names/);
    expect(identifierProblem('\u0301abc')).toMatch(/mark must follow/);
  });

  it('refuse invisible marks, bidi controls and fillers, and are stored NFKC', () => {
    for (const bad of ['vip1\u034F', 'vip\u200B1', 'vip\u202E1', 'vi\u200Dp1', '\u3164\u3164\u3164', 'ab\uFE0F'])
      expect(checkUsername(bad), JSON.stringify(bad)).toMatchObject({ code: 'INVALID_INPUT' });
    expect(checkUsername('Ｚｏë')).toBe('Zoë');
  });

  it('share a skeleton with their look-alikes, in any case', () => {
    expect(usernameSkeleton('paypaI')).toBe(usernameSkeleton('paypal'));
    expect(usernameSkeleton('v\u0456p1')).toBe(usernameSkeleton('vip1'));
    expect(usernameSkeleton('\u0440\u0430\u0443')).toBe(usernameSkeleton('pay')); // all Cyrillic
    expect(usernameSkeleton('rnodern')).toBe(usernameSkeleton('modern'));
    expect(usernameSkeleton('Paypal')).toBe(usernameSkeleton('paypal'));
    expect(usernameSkeleton('alice')).not.toBe(usernameSkeleton('alike'));
    expect(skeleton('\u0430')).toBe('a');
  });
});

describe('names and prose show what they hold', () => {
  it('refuse bidi controls, invisibles and blank-looking names', () => {
    for (const bad of ['Ann \u202E', '\u3164', '\u3164\u3164', '\u200B', 'ok\u200Bok', '\u2800', 'a\u200Db', '\uFE0F', 'x\u2066y\u2069'])
      expect(checkDisplayName(bad), JSON.stringify(bad)).toMatchObject({ code: 'INVALID_INPUT' });
    expect(checkText('name', '\u200B', { max: 100 })).toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('keep emoji sequences, flags, keycaps, ideographic variants and Persian joiners', () => {
    for (const good of [
      'Ann 👩‍💻',
      '🏳️‍🌈 pride',
      '❤️',
      '1️⃣ one',
      'می\u200Cخواهم',
      '🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}',
      '葛\u{E0100}',
    ])
      expect(checkDisplayName(good), JSON.stringify(good)).toBeUndefined();
  });

  it('let message bodies keep what running text carries, but not reordering or blank ones', () => {
    const body = (value: string) => checkText('body', value, { max: 4000, multiline: true });
    for (const good of ['hi 👨‍👩‍👧 family ❤️', 'soft\u00ADhyphen', 'a\u200Eb', 'line\nbreak', '👍🏽', 'zero\u200Bwidth'])
      expect(body(good), JSON.stringify(good)).toBeUndefined();
    for (const bad of ['\u200B', 'evil \u202E txt', '\u3164', ' \n\t\u2800'])
      expect(body(bad), JSON.stringify(bad)).toMatchObject({ code: 'INVALID_INPUT' });
    expect(invisibleTextProblem('topic\u034F', 'name')).toMatch(/invisible/);
  });
});
