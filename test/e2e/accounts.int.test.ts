import { readdirSync, readFileSync } from 'node:fs';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { INSTANCE_HEADERS, accessTokenSettings, createKafka, quoteIdent, topicName, TOPICS } from '@chat/platform';
import { startStack, type Stack } from '@chat/infra';
import { LOG_IN, SIGN_UP, TEST_PASSWORD, signUp, type TestUser } from '../src/accounts.ts';
import { gqlFrom } from '../src/from-address.ts';
import { gql } from '../src/graphql.ts';

// Accounts and tokens on the real stack: the whole session life cycle, every token attack we
// know of refused on both services, usernames unique across instances, sockets closed when
// their session ends or their token expires, abuse limits, and no credential in any event.

const SESSION = `userId username accessToken refreshToken`;
const REFRESH = `mutation($refreshToken: String!) { refreshToken(refreshToken: $refreshToken) {
  __typename ... on Session { ${SESSION} } ... on CommandError { code message } } }`;
const LOG_OUT = `mutation { logOut { __typename ... on LoggedOut { sessionId } ... on CommandError { code message } } }`;
const CHANGE_PASSWORD = `mutation($currentPassword: String!, $newPassword: String!) {
  changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {
  __typename ... on Session { ${SESSION} } ... on CommandError { code message } } }`;
const UPDATE_PROFILE = `mutation($displayName: String, $avatarUrl: String, $bio: String) {
  updateProfile(displayName: $displayName, avatarUrl: $avatarUrl, bio: $bio) {
  __typename ... on Profile { userId displayName avatarUrl bio } ... on CommandError { code message } } }`;
const CREATE_ROOM = `mutation { createRoom(name: "auth") { __typename ... on RoomAccepted { roomId } ... on CommandError { code message } } }`;
const ME = `query { me { id username displayName avatarUrl bio } }`;
const USER = `query($id: ID!) { user(id: $id) { id username displayName } }`;

const settings = accessTokenSettings({});
let stack: Stack;

beforeAll(async () => {
  stack = await startStack('accounts');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const command = (query: string, variables: Record<string, unknown> = {}, token?: string) => gql(stack.commandUrl, query, variables, token);

/** `me` on the query side, or the error code it answers with. */
async function meOnQuerySide(token: string): Promise<Record<string, unknown> | null | string> {
  try {
    return (await gql(stack.queryUrl, ME, {}, token)).me;
  } catch (error) {
    return (error as { codes?: string[] }).codes?.[0] ?? String(error);
  }
}

/** The code the command side answers a token with: null when it accepts it (the room is created). */
async function commandSideRefusal(token: string | undefined): Promise<string | null> {
  const { createRoom } = await command(CREATE_ROOM, {}, token);
  return createRoom.__typename === 'RoomAccepted' ? null : createRoom.code;
}

async function logIn(username: string, password = TEST_PASSWORD) {
  return (await command(LOG_IN, { username, password })).logIn;
}

/** The signing key the command service uses now, read from its table: to mint tokens that are signed right but wrong otherwise. */
async function currentSigningKey(): Promise<{ kid: string; privateJwk: JWK; publicJwk: JWK }> {
  const client = new pg.Client({ connectionString: stack.config.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ kid: string; private_jwk: JWK; public_jwk: JWK }>(
      `SELECT kid, private_jwk, public_jwk FROM ${quoteIdent(stack.config.pgSchema)}.auth_signing_keys WHERE signs_from <= now() ORDER BY signs_from DESC LIMIT 1`,
    );
    const row = rows[0]!;
    return { kid: row.kid, privateJwk: row.private_jwk, publicJwk: row.public_jwk };
  } finally {
    await client.end();
  }
}

interface Claims {
  sub: string;
  sid: string;
  iss?: string;
  aud?: string;
  iat?: number;
  nbf?: number;
  exp?: number;
}

/**
 * An access token with whatever claims a test wants, signed with the service's real key
 * unless `signing` names another algorithm, key or kid.
 */
async function mint(
  claims: Claims,
  signing: { alg?: string; kid?: string; typ?: string; key?: CryptoKey | Uint8Array } = {},
): Promise<string> {
  const real = await currentSigningKey();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: claims.sid })
    .setProtectedHeader({ alg: signing.alg ?? 'EdDSA', kid: signing.kid ?? real.kid, typ: signing.typ ?? 'at+jwt' })
    .setSubject(claims.sub)
    .setIssuer(claims.iss ?? settings.issuer)
    .setAudience(claims.aud ?? settings.audience)
    .setJti(crypto.randomUUID())
    .setIssuedAt(claims.iat ?? now)
    .setNotBefore(claims.nbf ?? now)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(signing.key ?? (await importJWK(real.privateJwk, 'EdDSA')));
}

function sessionOf(token: string): { sub: string; sid: string } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string; sid: string };
}

/** Opens a raw graphql-ws socket, sends connection_init with `token` (none: null), and resolves with the first close (code, reason) or 'ack'. */
/** `raw`: the authorization value as given, without "Bearer ". */
function connectSocket(
  token: string | null,
  { raw = false } = {},
): {
  ws: WebSocket;
  first: Promise<'ack' | { code: number; reason: string }>;
  closed: Promise<{ code: number; reason: string }>;
} {
  const ws = new WebSocket(stack.queryWsUrl, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const first = new Promise<'ack' | { code: number; reason: string }>((resolve) => {
    ws.on('open', () =>
      ws.send(
        JSON.stringify({ type: 'connection_init', payload: token === null ? {} : { authorization: raw ? token : `Bearer ${token}` } }),
      ),
    );
    ws.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type === 'connection_ack') resolve('ack');
    });
    void closed.then(resolve);
  });
  return { ws, first, closed };
}

describe('accounts and sessions', () => {
  it('signs up, reads itself, updates its profile, refreshes, changes its password and logs out', async () => {
    const alice = await signUp(stack.commandUrl, 'alice');
    expect(alice.userId).toMatch(/^[0-9a-f-]{36}$/);

    // The projection has the user soon after; both the caller and others can read the profile.
    await expect.poll(() => meOnQuerySide(alice.accessToken), { timeout: 10_000 }).toMatchObject({ id: alice.userId, username: 'alice' });
    const profile = await command(
      UPDATE_PROFILE,
      { displayName: 'Alice A.', avatarUrl: 'https://example.org/a.png', bio: 'hi\nthere' },
      alice.accessToken,
    );
    expect(profile.updateProfile).toEqual({
      __typename: 'Profile',
      userId: alice.userId,
      displayName: 'Alice A.',
      avatarUrl: 'https://example.org/a.png',
      bio: 'hi\nthere',
    });
    const refused = await command(UPDATE_PROFILE, { avatarUrl: 'javascript:alert(1)' }, alice.accessToken);
    expect(refused.updateProfile).toMatchObject({ __typename: 'CommandError', code: 'INVALID_INPUT' });
    const bob = await signUp(stack.commandUrl, 'bob');
    await expect
      .poll(async () => (await gql(stack.queryUrl, USER, { id: alice.userId }, bob.accessToken)).user, { timeout: 10_000 })
      .toEqual({ id: alice.userId, username: 'alice', displayName: 'Alice A.' });

    // Log in again: a second session. Refresh it: new tokens, and the old refresh token is used up.
    const second = await logIn('ALICE');
    expect(second).toMatchObject({ __typename: 'Session', userId: alice.userId });
    const refreshed = (await command(REFRESH, { refreshToken: second.refreshToken })).refreshToken;
    expect(refreshed).toMatchObject({ __typename: 'Session', userId: alice.userId });
    expect(refreshed.refreshToken).not.toBe(second.refreshToken);
    expect(sessionOf(refreshed.accessToken).sid).toBe(sessionOf(second.accessToken).sid);
    expect(await commandSideRefusal(refreshed.accessToken)).toBeNull();

    // Changing the password ends every session, and answers a new one.
    const wrong = await command(
      CHANGE_PASSWORD,
      { currentPassword: 'not my password', newPassword: 'a new passphrase' },
      alice.accessToken,
    );
    expect(wrong.changePassword).toMatchObject({ __typename: 'CommandError', code: 'INVALID_CREDENTIALS' });
    const changed = (await command(CHANGE_PASSWORD, { currentPassword: TEST_PASSWORD, newPassword: 'a new passphrase' }, alice.accessToken))
      .changePassword;
    expect(changed).toMatchObject({ __typename: 'Session', userId: alice.userId });
    for (const old of [alice.accessToken, refreshed.accessToken]) {
      expect(await meOnQuerySide(old)).toBe('UNAUTHENTICATED');
      expect(await commandSideRefusal(old)).toBe('UNAUTHENTICATED');
    }
    expect((await command(REFRESH, { refreshToken: refreshed.refreshToken })).refreshToken).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await logIn('alice')).toMatchObject({ __typename: 'CommandError', code: 'INVALID_CREDENTIALS' });
    expect(await logIn('alice', 'a new passphrase')).toMatchObject({ __typename: 'Session', userId: alice.userId });

    // Log out: that session's access token is refused at once, on both sides.
    expect(await meOnQuerySide(changed.accessToken)).toMatchObject({ id: alice.userId });
    expect((await command(LOG_OUT, {}, changed.accessToken)).logOut).toEqual({
      __typename: 'LoggedOut',
      sessionId: sessionOf(changed.accessToken).sid,
    });
    expect(await meOnQuerySide(changed.accessToken)).toBe('UNAUTHENTICATED');
    expect(await commandSideRefusal(changed.accessToken)).toBe('UNAUTHENTICATED');
    expect((await command(REFRESH, { refreshToken: changed.refreshToken })).refreshToken).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('ends the whole session when a refresh token is used twice', async () => {
    const carol = await signUp(stack.commandUrl, 'carol');
    const next = (await command(REFRESH, { refreshToken: carol.refreshToken })).refreshToken;
    expect(next.__typename).toBe('Session');
    // The first refresh token again: a thief, or the victim after the thief. Either way the family ends.
    expect((await command(REFRESH, { refreshToken: carol.refreshToken })).refreshToken).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await command(REFRESH, { refreshToken: next.refreshToken })).refreshToken).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await meOnQuerySide(next.accessToken)).toBe('UNAUTHENTICATED');
    expect(await commandSideRefusal(next.accessToken)).toBe('UNAUTHENTICATED');
    // Another session of the same user is untouched.
    const other = await logIn('carol');
    expect(await commandSideRefusal(other.accessToken)).toBeNull();
  });

  it('refuses every forged, stale or misdirected token on both services', async () => {
    const dave = await signUp(stack.commandUrl, 'dave');
    const erin = await signUp(stack.commandUrl, 'erin');
    const { sub, sid } = sessionOf(dave.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const key = await currentSigningKey();
    const [header, payload] = dave.accessToken.split('.');

    const strangerKey = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const strangerKid = `${(await exportJWK(strangerKey.publicKey)).x}`;
    const attacks: [string, string | undefined][] = [
      ['no token', undefined],
      ['malformed', 'not-a-jwt'],
      [
        'payload swapped to another user',
        `${header}.${Buffer.from(JSON.stringify({ ...sessionOf(dave.accessToken), sub: erin.userId })).toString('base64url')}.${dave.accessToken.split('.')[2]}`,
      ],
      [
        'alg none',
        new UnsecuredJWT({ sid })
          .setSubject(sub)
          .setIssuer(settings.issuer)
          .setAudience(settings.audience)
          .setExpirationTime(now + 600)
          .encode(),
      ],
      [
        'HS256 signed with the public key',
        await mint({ sub, sid }, { alg: 'HS256', key: new TextEncoder().encode(JSON.stringify(key.publicJwk)) }),
      ],
      ['a key not in the JWKS', await mint({ sub, sid }, { kid: strangerKid, key: strangerKey.privateKey })],
      ['a bad signature under the real kid', `${header}.${payload}.${Buffer.alloc(64, 7).toString('base64url')}`],
      ['expired', await mint({ sub, sid, iat: now - 3600, nbf: now - 3600, exp: now - 60 })],
      ['not yet valid', await mint({ sub, sid, nbf: now + 600, exp: now + 1200 })],
      ['wrong issuer', await mint({ sub, sid, iss: 'https://evil.example' })],
      ['wrong audience', await mint({ sub, sid, aud: 'urn:other:api' })],
      ['wrong type (an ID token, say)', await mint({ sub, sid }, { typ: 'JWT' })],
    ];
    // The control: a token minted the same way with nothing wrong is accepted.
    expect(await commandSideRefusal(await mint({ sub, sid }))).toBeNull();
    for (const [what, token] of attacks) {
      expect(await commandSideRefusal(token), `command side, ${what}`).toBe('UNAUTHENTICATED');
      expect(await meOnQuerySide(token ?? ''), `query side, ${what}`).toBe('UNAUTHENTICATED');
    }

    // Revoked: logged out, then the same token again.
    await command(LOG_OUT, {}, dave.accessToken);
    expect(await commandSideRefusal(dave.accessToken)).toBe('UNAUTHENTICATED');
    expect(await meOnQuerySide(dave.accessToken)).toBe('UNAUTHENTICATED');
    // A properly signed token for that ended session is refused too.
    expect(await commandSideRefusal(await mint({ sub, sid }))).toBe('UNAUTHENTICATED');

    // Another user's refresh token, presented with my access token: refused, and left usable by its owner.
    const theirs = await command(REFRESH, { refreshToken: erin.refreshToken }, (await logIn('dave')).accessToken);
    expect(theirs.refreshToken).toMatchObject({ __typename: 'CommandError', code: 'FORBIDDEN' });
    expect((await command(REFRESH, { refreshToken: erin.refreshToken }, erin.accessToken)).refreshToken).toMatchObject({
      userId: erin.userId,
    });
  });

  it('keeps usernames unique ignoring case and Unicode form, under concurrent sign-ups on two instances', async () => {
    const other = await stack.startExtra('command-service');
    try {
      // Both instances publish the same keys (shared through Postgres), among them the one signing now.
      const jwks = await Promise.all(
        [stack.instance('command-service').baseUrl, other.baseUrl].map(async (base) =>
          (await fetch(`${base}/.well-known/jwks.json`)).json(),
        ),
      );
      expect(jwks[0]).toEqual(jwks[1]);
      expect((jwks[0] as { keys: { kid: string; kty: string; crv: string; d?: string }[] }).keys).toContainEqual(
        expect.objectContaining({ kid: (await currentSigningKey()).kid, kty: 'OKP', crv: 'Ed25519' }),
      );
      expect(JSON.stringify(jwks[0])).not.toMatch(/"d":/); // public halves only

      const spellings = ['Zoë', 'ZOË', 'zoe\u0308', 'ZOE\u0308'];
      const urls = [stack.commandUrl, other.url];
      const answers = await Promise.all(
        spellings.map(async (username, i) => (await gql(urls[i % 2]!, SIGN_UP, { username, password: `password number ${i}` })).signUp),
      );
      const sessions = answers.filter((a) => a.__typename === 'Session');
      expect(sessions, JSON.stringify(answers)).toHaveLength(1);
      expect(answers.filter((a) => a.code === 'USERNAME_TAKEN')).toHaveLength(spellings.length - 1);
      // Every spelling logs in to that one account, with its password.
      const winner = answers.indexOf(sessions[0]);
      for (const spelling of spellings) {
        expect(await logIn(spelling, `password number ${winner}`)).toMatchObject({ userId: sessions[0].userId });
      }
    } finally {
      await other.stop();
    }
  });

  it('closes a socket with Forbidden and why for a bad token, when its session ends, and with 4419 when its token expires', async () => {
    const frank = await signUp(stack.commandUrl, 'frank');
    expect(await connectSocket('garbage').first).toEqual({ code: 4403, reason: 'Forbidden: the access token is not valid' });
    // A token without "Bearer ": the reason says what to send.
    expect(await connectSocket(frank.accessToken, { raw: true }).first).toEqual({
      code: 4403,
      reason: 'Forbidden: send Authorization: Bearer <access token>',
    });

    const open = connectSocket(frank.accessToken);
    expect(await open.first).toBe('ack');
    await command(LOG_OUT, {}, frank.accessToken);
    expect(await open.closed).toMatchObject({ code: 4403 });

    // Opened without a token, GraphiQL-style; an operation's own header ties the socket to that session.
    const viaHeader = await logIn('frank');
    const anonymous = connectSocket(null);
    expect(await anonymous.first).toBe('ack');
    anonymous.ws.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: {
          query: `subscription { messageAdded(roomId: "${crypto.randomUUID()}") { id } }`,
          extensions: { headers: { Authorization: `Bearer ${viaHeader.accessToken}` } },
        },
      }),
    );
    await new Promise((resolve) => anonymous.ws.once('message', resolve));
    await command(LOG_OUT, {}, viaHeader.accessToken);
    expect(await anonymous.closed).toMatchObject({ code: 4403 });

    const again = (await logIn('frank')) as TestUser;
    const { sub, sid } = sessionOf(again.accessToken);
    const shortLived = connectSocket(await mint({ sub, sid, exp: Math.floor(Date.now() / 1000) + 2 }));
    expect(await shortLived.first).toBe('ack');
    expect(await shortLived.closed).toMatchObject({ code: 4419 });
  });

  it('slows log-in attempts per username and address, answering the same for unknown users and wrong passwords', async () => {
    await signUp(stack.commandUrl, 'grace');
    const unknown = await logIn('nobody-here', 'some password');
    const wrong = await logIn('grace', 'some password');
    expect(unknown).toEqual(wrong);
    expect(wrong).toMatchObject({ __typename: 'CommandError', code: 'INVALID_CREDENTIALS' });
    let answer = wrong;
    for (let attempt = 0; attempt < 20 && answer.code !== 'RATE_LIMITED'; attempt++) answer = await logIn('grace', 'still guessing');
    expect(answer).toMatchObject({ code: 'RATE_LIMITED' });
    expect(answer.retryAfterSeconds).toBeGreaterThan(0);
    // Only this address waits (test/security/log-in-lockout has the whole attack): the owner elsewhere logs in.
    const elsewhere = await gqlFrom('127.0.0.7', stack.queryUrl, LOG_IN, { username: 'grace', password: TEST_PASSWORD });
    expect(elsewhere.logIn).toMatchObject({ __typename: 'Session' });
  });

  it('limits sign-ups per client address, counting only those that make an account (not invalid ones, nor retries)', async () => {
    const strict = await stack.startExtra('command-service', { SIGN_UP_LIMIT_PER_ADDRESS: '2' });
    try {
      // Vouched for as the query service does: an address of its own, which no other test counts at.
      const signUpFrom = async (username: string, password = TEST_PASSWORD) =>
        (await gql(strict.url, SIGN_UP, { username, password }, undefined, { [INSTANCE_HEADERS.clientAddress]: '198.51.100.41' }))
          .signUp as Record<string, unknown>;
      for (const [username, password] of [
        ['tiny', 'short'],
        ['bad\u0000name', TEST_PASSWORD],
        ['', TEST_PASSWORD],
      ] as const) {
        const refused = await signUpFrom(username, password);
        expect(refused).toMatchObject({ __typename: 'CommandError' });
        expect(refused.code).not.toBe('RATE_LIMITED');
      }
      const first = await signUpFrom('retrier');
      expect(first).toMatchObject({ __typename: 'Session' });
      // Sent again (its answer lost, or a token expired and the line run again): the same account, counted as a log-in.
      for (let i = 0; i < 3; i += 1) expect(await signUpFrom('retrier')).toMatchObject({ __typename: 'Session', userId: first.userId });
      // So the second of the address's two is still there for a new account, and a third is refused.
      expect(await signUpFrom('counted2')).toMatchObject({ __typename: 'Session' });
      expect(await signUpFrom('counted3')).toMatchObject({ code: 'RATE_LIMITED' });
      expect(await logIn('counted3')).toMatchObject({ code: 'INVALID_CREDENTIALS' }); // refused, and nothing made
    } finally {
      await strict.stop();
    }
  });

  it('puts no password, hash or token in any schema or event', async () => {
    const secret = 'a very particular passphrase';
    const heidi = await signUp(stack.commandUrl, 'heidi', secret);
    await command(UPDATE_PROFILE, { bio: 'hello' }, heidi.accessToken);

    const schemaDir = new URL('../../schemas/avro/', import.meta.url);
    for (const file of readdirSync(schemaDir)) {
      const fields = (JSON.parse(readFileSync(new URL(file, schemaDir), 'utf8')) as { fields: { name: string }[] }).fields.map(
        (f) => f.name,
      );
      expect(
        fields.filter((f) => /password|hash|token|secret|email/i.test(f)),
        file,
      ).toEqual([]);
    }
    const dump = await dumpTopics();
    expect(dump.length).toBeGreaterThan(0);
    expect(dump.some((value) => value.includes(heidi.userId))).toBe(true);
    for (const forbidden of [secret, '$argon2id', heidi.accessToken, heidi.refreshToken, TEST_PASSWORD]) {
      expect(dump.filter((value) => value.includes(forbidden))).toEqual([]);
    }
  });
});

/** Every record value of both event topics, as latin1 text (byte for byte). */
async function dumpTopics(): Promise<string[]> {
  const kafka = createKafka(stack.config, 'test-dump');
  const topics = (Object.keys(TOPICS) as (keyof typeof TOPICS)[]).map((key) => topicName(stack.config.topicPrefix, key));
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}/${p.partition}`, Number(p.high));
  await admin.disconnect();
  const values: string[] = [];
  const consumer = kafka.consumer({ groupId: `test-dump-${crypto.randomUUID()}`, readUncommitted: true });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const done = Promise.withResolvers<void>();
  const seen = new Map<string, number>();
  const check = () => {
    if ([...ends].every(([tp, end]) => (seen.get(tp) ?? 0) >= end)) done.resolve();
  };
  check();
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      values.push(message.value?.toString('latin1') ?? '');
      seen.set(`${topic}/${partition}`, Number(message.offset) + 1);
      check();
    },
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    seen.set(
      `${payload.topic}/${payload.partition}`,
      Math.max(seen.get(`${payload.topic}/${payload.partition}`) ?? 0, Number(payload.lastOffset) + 1),
    );
    check();
  });
  await Promise.race([done.promise, new Promise((_, reject) => setTimeout(() => reject(new Error('topics not read in 30 s')), 30_000))]);
  await consumer.disconnect();
  return values;
}
