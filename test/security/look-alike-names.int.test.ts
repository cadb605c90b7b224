import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '@chat/infra';
import { SIGN_UP, signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';

// Issue 18, attack 9: look-alike identities. `vip1` and `vip1` + U+034F (an invisible mark)
// were two accounts that render alike, both listed by users(search); display names with
// U+202E (right-to-left override) or made only of U+3164 (drawn as nothing), and a room named
// U+200B alone, were accepted. Now usernames follow UTS #39 (one script or Latin plus one, no
// invisibles) and a look-alike of an existing name (same skeleton, in any case) is taken;
// names, display names and room names refuse bidi controls, invisibles and blank-looking
// values, while messages keep their emoji sequences.

const UPDATE_PROFILE = `mutation($displayName: String) { updateProfile(displayName: $displayName) {
  __typename ... on Profile { displayName } ... on CommandError { code message } } }`;
const CREATE_ROOM = `mutation($name: String!) { createRoom(name: $name) { __typename ... on RoomAccepted { roomId } ... on CommandError { code message } } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) {
  __typename ... on MessageAccepted { receipt { projected } } ... on CommandError { code message } } }`;
const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, first: 10) { edges { node { body } } } }`;
const USERS = `query($search: String!) { users(search: $search) { username } }`;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('look-alikes');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

/** A sign-up by the impostor, with a password of their own (the owner's would open the owner's account, as a retry). */
async function signUpAnswer(username: string, displayName?: string): Promise<Record<string, any>> {
  return (await gql(stack.commandUrl, SIGN_UP, { username, password: 'the impostor password', displayName })).signUp;
}

describe('look-alike usernames', () => {
  it('cannot be registered beside the name they imitate', async () => {
    const vip = await signUp(stack.commandUrl, 'vip1');
    // The invisible mark, a Cyrillic і, and a capital I for an l.
    expect(await signUpAnswer('vip1\u034F')).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/invisible/) });
    expect(await signUpAnswer('v\u0456p1')).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/mix scripts/) });
    expect(await signUpAnswer('VIP1')).toMatchObject({ code: 'USERNAME_TAKEN' });
    expect(await signUpAnswer('vipl')).toMatchObject({ code: 'USERNAME_TAKEN' }); // 1 and l: one skeleton
    await signUp(stack.commandUrl, 'paypal');
    expect(await signUpAnswer('paypaI')).toMatchObject({ code: 'USERNAME_TAKEN' });
    // A name all in Cyrillic letters that look Latin: one script, but the skeleton of "pay".
    await signUp(stack.commandUrl, 'pay');
    expect(await signUpAnswer('\u0440\u0430\u0443')).toMatchObject({ code: 'USERNAME_TAKEN' });
    // Names of one script that look like nothing else are welcome.
    expect(await signUpAnswer('фёдор')).toMatchObject({ __typename: 'Session' });

    // users(search) finds one vip1.
    const found = (await gql(stack.queryUrl, USERS, { search: 'vip' }, vip.accessToken)).users as { username: string }[];
    expect(found.map((u) => u.username)).toEqual(['vip1']);
  });
});

describe('names that hide what they say', () => {
  it('are refused as display names and room names', async () => {
    expect(await signUpAnswer('mallory', 'admin\u202Egnp.exe')).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/bidirectional/),
    });
    const user = await signUp(stack.commandUrl, 'mallory2');
    for (const displayName of ['\u3164', '\u3164\u3164\u3164', 'ann\u202E', '\u200B', '\u2800 '])
      expect(
        (await gql(stack.commandUrl, UPDATE_PROFILE, { displayName }, user.accessToken)).updateProfile,
        JSON.stringify(displayName),
      ).toMatchObject({
        code: 'INVALID_INPUT',
      });
    for (const name of ['\u200B', '\u3164', 'room\u202E', '\u034F'])
      expect((await gql(stack.commandUrl, CREATE_ROOM, { name }, user.accessToken)).createRoom, JSON.stringify(name)).toMatchObject({
        code: 'INVALID_INPUT',
      });
    // An emoji sequence is a fine display name.
    expect((await gql(stack.commandUrl, UPDATE_PROFILE, { displayName: 'Mal 👩‍💻' }, user.accessToken)).updateProfile).toMatchObject({
      displayName: 'Mal 👩‍💻',
    });
  });

  it('do not take emoji ZWJ sequences and variation selectors from messages', async () => {
    const user = await signUp(stack.commandUrl, 'emoji-fan');
    const { roomId } = (await gql(stack.commandUrl, CREATE_ROOM, { name: 'emoji' }, user.accessToken)).createRoom;
    const body = 'family 👨‍👩‍👧, heart ❤️, flag 🏳️‍🌈, keycap 1️⃣, tone 👍🏽';
    const sent = (await gql(stack.commandUrl, SEND, { roomId, body, key: crypto.randomUUID() }, user.accessToken)).sendMessage;
    expect(sent).toMatchObject({ __typename: 'MessageAccepted' });
    const history = await gql(stack.queryUrl, HISTORY, { roomId }, user.accessToken);
    expect(history.messages.edges.map((e: { node: { body: string } }) => e.node.body)).toContain(body);
  });
});
