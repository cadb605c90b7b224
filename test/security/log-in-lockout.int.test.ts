import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '@chat/infra';
import { LOG_IN, TEST_PASSWORD, signUp } from '../src/accounts.ts';
import { gqlFrom } from '../src/from-address.ts';

// Issue 18, attack 5: anyone could lock a user out. Ten wrong passwords from anywhere made the
// victim's right password answer RATE_LIMITED for 15 minutes (renewable forever), and their
// own changePassword was refused by the same counter. Now failures count per (username,
// address) with a doubling wait, a username under attack only shortens each address's free
// failures, and a password change has a limit of the user's own. The attacker and the victim
// are clients at different loopback addresses of the one endpoint, which sees each socket's peer.

const CHANGE_PASSWORD = `mutation($currentPassword: String!, $newPassword: String!) {
  changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {
  __typename ... on Session { accessToken } ... on CommandError { code message retryAfterSeconds } } }`;

const STRANGER = '127.0.0.2';
const OTHER_STRANGER = '127.0.0.3';
const VICTIM = '127.0.0.4';
const VICTIM_ELSEWHERE = '127.0.0.5';

let stack: Stack;

beforeAll(async () => {
  // The per-address limit low enough to be reached here, high enough not to be the one that answers.
  stack = await startStack('lockout', { LOG_IN_LIMIT_PER_ADDRESS: '200' });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

async function logIn(from: string, username: string, password: string) {
  return (await gqlFrom(from, stack.queryUrl, LOG_IN, { username, password })).logIn as Record<string, any>;
}

describe('a stranger guessing passwords', () => {
  it('is slowed down at its own address, and never locks the owner out', async () => {
    await signUp(stack.commandUrl, 'victor');
    // The stranger's first failures are answered as such, then it must wait, longer each time.
    const answers: string[] = [];
    for (let attempt = 0; attempt < 12; attempt++) answers.push((await logIn(STRANGER, 'victor', `guess number ${attempt}`)).code);
    expect(answers.slice(0, 5)).toEqual(Array(5).fill('INVALID_CREDENTIALS'));
    expect(answers.slice(5)).toContain('RATE_LIMITED');
    const waiting = await logIn(STRANGER, 'victor', TEST_PASSWORD);
    expect(waiting).toMatchObject({ code: 'RATE_LIMITED' });
    expect(waiting.retryAfterSeconds).toBeGreaterThan(0);

    // More strangers, at other addresses, each with its free failures: the username is under attack now…
    for (const address of ['127.0.0.10', '127.0.0.11']) {
      for (let attempt = 0; attempt < 5; attempt++) await logIn(address, 'victor', `guess ${attempt}`);
    }
    // …so the next stranger gets one free failure only.
    expect(await logIn(OTHER_STRANGER, 'victor', 'another guess')).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    expect(await logIn(OTHER_STRANGER, 'victor', 'and another')).toMatchObject({ code: 'RATE_LIMITED' });

    // The owner's right password works from their address, and from one never seen before.
    expect(await logIn(VICTIM, 'victor', TEST_PASSWORD)).toMatchObject({ __typename: 'Session' });
    expect(await logIn(VICTIM_ELSEWHERE, 'victor', TEST_PASSWORD)).toMatchObject({ __typename: 'Session' });
  });

  it('never stands in the way of a signed-in user changing their password, which has its own limit', async () => {
    const user = await signUp(stack.commandUrl, 'wanda');
    for (let attempt = 0; attempt < 15; attempt++) await logIn(STRANGER, 'wanda', `guess number ${attempt}`);
    const changed = (
      await gqlFrom(
        VICTIM,
        stack.queryUrl,
        CHANGE_PASSWORD,
        { currentPassword: TEST_PASSWORD, newPassword: 'a brand new passphrase' },
        user.accessToken,
      )
    ).changePassword as Record<string, any>;
    expect(changed).toMatchObject({ __typename: 'Session' });

    // Guessing the current password with a (stolen) token is limited per user all the same.
    const codes: string[] = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      const answer = (
        await gqlFrom(
          VICTIM,
          stack.queryUrl,
          CHANGE_PASSWORD,
          { currentPassword: `wrong ${attempt}`, newPassword: 'whatever it is' },
          changed.accessToken,
        )
      ).changePassword as Record<string, any>;
      codes.push(answer.code);
    }
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('INVALID_CREDENTIALS'));
    expect(codes.slice(5)).toContain('RATE_LIMITED');
  });
});
