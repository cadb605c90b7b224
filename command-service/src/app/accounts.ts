import { createHash, randomBytes } from 'node:crypto';
import type { Caller, Logger, SessionRevocations } from '@chat/platform';
import {
  ACCOUNT_LIMITS,
  accountDeleted,
  checkDisplayName,
  checkPassword,
  checkUsername,
  decideProfileUpdate,
  decideSignUp,
  usernameKey,
  type Profile,
  type ProfileChange,
  type AccountDeleted,
  type UserEvent,
  type UserRegistered,
} from '../domain/account.ts';
import { commandError, type CommandError } from '../domain/errors.ts';
import { usernameSkeleton } from '../domain/identifier.ts';
import { decoyHash, hashPassword, verifyPassword } from './passwords.ts';
import type { IssuedAccessToken } from './signing-keys.ts';

// Accounts and sessions: sign-up, log-in, refresh, log-out, password and profile changes.
// Usernames stay unique because the account row is written first under a unique index on
// the normalized name (any number of instances, one winner); its UserRegistered event is
// fixed in that row and appended after, again after a crash if need be, so an account is
// never left without its event. A session is one log-in and every refresh after it; ending
// it (log-out, password change, a refresh token used twice) refuses its access tokens
// everywhere at once through the revocation list: recorded in Postgres, cached in Redis
// (platform's SessionRevocations says how a lost cache never lets a token back in).

export interface AccountRecord {
  userId: string;
  username: string;
  passwordHash: string | null;
  profile: Profile;
  /** Whether its UserRegistered event is in the log. */
  registered: boolean;
  event: UserRegistered;
}

export interface AccountStore {
  /** Writes a new account, or answers 'taken' when its normalized username, or a look-alike (same skeleton), exists. */
  insert(account: NewAccount & { passwordHash: string | null }): Promise<'created' | 'taken'>;
  byUsernameKey(key: string): Promise<AccountRecord | undefined>;
  byId(userId: string): Promise<AccountRecord | undefined>;
  markRegistered(userId: string, offset: bigint): Promise<void>;
  /** UserRegistered events of accounts written more than `olderThanMs` ago whose append never finished. */
  unregistered(olderThanMs: number, limit: number): Promise<UserRegistered[]>;
  /** Runs `change` with the account's profile locked, and stores the profile it returns. */
  changeProfile(userId: string, change: (current: Profile) => Promise<Profile | CommandError>): Promise<Profile | CommandError>;
  setPasswordHash(userId: string, hash: string): Promise<void>;
  /** Gives accounts written before skeletons were kept theirs; answers the user ids left without one (a look-alike holds it). */
  fillSkeletons(skeletonOf: (username: string) => string): Promise<string[]>;
  linkedAccount(issuer: string, subject: string): Promise<string | undefined>;
  /**
   * Writes a new account linked to an identity, both or neither: 'taken' when the username
   * exists, `linkedTo` when the identity was linked meanwhile (a concurrent first sign-on).
   */
  insertLinked(account: NewAccount, identity: { issuer: string; subject: string }): Promise<'created' | 'taken' | { linkedTo: string }>;
  /** Marks the account as being deleted; answers when (the first call's time, on every retry) and its AccountDeleted event's id. */
  startDeletion(userId: string, at: number): Promise<{ at: number; eventId: string }>;
  /** Empties a deletion's account: name (freed), password, profile, linked identities, refresh tokens. */
  empty(userId: string): Promise<void>;
  markDeleted(userId: string, offset: bigint): Promise<void>;
  /** AccountDeleted events of emptied accounts whose append never finished. */
  undeleted(limit: number): Promise<AccountDeleted[]>;
}

/** A new account's row: its event and the keys that keep its name unique. */
export interface NewAccount {
  /** Same account ignoring case and Unicode form. */
  usernameKey: string;
  /** Same account for a look-alike name (UTS #39 skeleton). */
  usernameSkeleton: string;
  event: UserRegistered;
}

export type RefreshLookup =
  { kind: 'unknown' } | { kind: 'found'; sessionId: string; userId: string; used: boolean; expired: boolean; sessionRevoked: boolean };

export interface SessionStore {
  create(userId: string): Promise<string>;
  /** Ends sessions; answers the ones that were still open. */
  revoke(sessionIds: readonly string[], reason: string): Promise<string[]>;
  openSessionsOf(userId: string): Promise<string[]>;
  /** When a session was opened (its log-in or sign-on); undefined for none. */
  startedAt(sessionId: string): Promise<number | undefined>;
  addRefreshToken(sessionId: string, tokenHash: Buffer, expiresAt: number): Promise<void>;
  findRefreshToken(tokenHash: Buffer): Promise<RefreshLookup>;
  /** Marks a refresh token used; false when it was used already (a race with its thief, or a retry). */
  consumeRefreshToken(tokenHash: Buffer): Promise<boolean>;
  /** Sessions ended since `since`, to write back into the revocation list. */
  revokedSince(since: number): Promise<string[]>;
}

export interface UserEventLog {
  /** Appends a user event; resolves with its offset once Kafka has it. */
  append(event: UserEvent): Promise<bigint>;
}

export interface TokenIssuer {
  issue(userId: string, sessionId: string): Promise<IssuedAccessToken>;
}

export interface AbuseLimits {
  /** Before a valid sign-up from `address`: RATE_LIMITED past the address's sign-ups an hour. */
  signUp(address: string): Promise<CommandError | undefined>;
  /** The sign-up opened an account that was there (a retry): it counted as a log-in, not as a sign-up. */
  signUpWasLogIn(address: string): Promise<void>;
  /** Before a password check of `usernameKey` from `address`: RATE_LIMITED while that pair (or the address) must wait. */
  logIn(usernameKey: string, address: string): Promise<CommandError | undefined>;
  /** The check passed: the pair's failures are forgotten. */
  loggedIn(usernameKey: string, address: string): Promise<void>;
  /** Before checking a signed-in user's current password (its own limit, apart from log-ins). */
  passwordCheck(userId: string): Promise<CommandError | undefined>;
  passwordChecked(userId: string): Promise<void>;
}

export interface SessionTokens {
  userId: string;
  username: string;
  accessToken: string;
  accessTokenExpiresAt: number;
  refreshToken: string;
  refreshTokenExpiresAt: number;
}

/** Who an identity provider says signed on: its issuer and subject, and the names it suggests. */
export interface SignOnIdentity {
  issuer: string;
  subject: string;
  username: string | null;
  displayName: string | null;
}

export interface AccountsDeps {
  accounts: AccountStore;
  sessions: SessionStore;
  events: UserEventLog;
  tokens: TokenIssuer;
  revocations: SessionRevocations;
  limits: AbuseLimits;
  log: Logger;
  accessTokenTtlSeconds: number;
  refreshTokenTtlMs: number;
}

const BAD_CREDENTIALS = commandError('INVALID_CREDENTIALS', 'wrong username or password');
/** How recent a sign-on proves its owner is there, for accounts without a password. */
const REAUTH_WINDOW_MS = 10 * 60_000;

export class Accounts {
  private readonly deps: AccountsDeps;

  constructor(deps: AccountsDeps) {
    this.deps = deps;
  }

  async signUp(
    input: { username: string; password: string; displayName: string | null; commandId: string | null },
    address: string,
  ): Promise<SessionTokens | CommandError> {
    // Checked before counting: a request refused as invalid costs nothing and makes nothing.
    const password = checkPassword(input.password);
    if (typeof password !== 'string') return password;
    const event = decideSignUp({ ...input, userId: crypto.randomUUID() }, Date.now());
    if ('code' in event) return event;
    const limited = await this.deps.limits.signUp(address);
    if (limited) return limited;
    const key = usernameKey(event.username);
    const passwordHash = await hashPassword(password);
    const inserted = await this.deps.accounts.insert({
      usernameKey: key,
      usernameSkeleton: usernameSkeleton(event.username),
      passwordHash,
      event,
    });
    if (inserted === 'taken') {
      // A retried sign-up (the first answer lost) is its own account: the same password opens
      // it. That is a password check, so it counts against the log-in limits like one.
      const limitedLogIn = await this.deps.limits.logIn(key, address);
      if (limitedLogIn) return limitedLogIn;
      const existing = await this.deps.accounts.byUsernameKey(key);
      if (!existing?.passwordHash || !(await verifyPassword(password, existing.passwordHash))) {
        return commandError('USERNAME_TAKEN', 'that username is taken');
      }
      await this.deps.limits.loggedIn(key, address);
      await this.deps.limits.signUpWasLogIn(address);
      return this.openSession(existing);
    }
    const account = await this.deps.accounts.byUsernameKey(key);
    if (!account) throw new Error(`account ${event.userId} vanished after its insert`);
    return this.openSession(account);
  }

  async logIn(input: { username: string; password: string }, address: string): Promise<SessionTokens | CommandError> {
    // Looked up by its key whatever today's rules for new names say: an account named before
    // them (a mixed-script name, say) still logs in.
    const lookedUp = input.username.length <= 2 * ACCOUNT_LIMITS.username.max && input.username.isWellFormed();
    const key = usernameKey(lookedUp ? input.username : input.username.slice(0, 64).toWellFormed());
    const limited = await this.deps.limits.logIn(key, address);
    if (limited) return limited;
    const password = checkPassword(input.password);
    if (typeof password !== 'string') return password;
    const account = lookedUp ? await this.deps.accounts.byUsernameKey(key) : undefined;
    // Verified against a decoy when there is no such account: the answer takes as long either way.
    const matches = await verifyPassword(password, account?.passwordHash ?? (await decoyHash));
    if (!account?.passwordHash || !matches) return BAD_CREDENTIALS;
    await this.deps.limits.loggedIn(key, address);
    return this.openSession(account);
  }

  /** New tokens for a refresh token, which is used up; using one twice ends its session. */
  async refresh(refreshToken: string, caller: Caller | undefined): Promise<SessionTokens | CommandError> {
    const refused = commandError('UNAUTHENTICATED', 'this refresh token is not valid; log in again');
    if (refreshToken.length > 200) return refused;
    const hash = tokenHash(refreshToken);
    const found = await this.deps.sessions.findRefreshToken(hash);
    if (found.kind === 'unknown') return refused;
    // Presented with someone else's access token: not theirs to use, and not to be burnt either.
    if (caller && caller.userId !== found.userId) return commandError('FORBIDDEN', 'this refresh token belongs to another user');
    if (found.sessionRevoked || found.expired) return refused;
    if (found.used || !(await this.deps.sessions.consumeRefreshToken(hash))) {
      this.deps.log.warn('refresh token used twice; ending its session', { sessionId: found.sessionId, userId: found.userId });
      await this.endSessions([found.sessionId], 'refresh token reused');
      return refused;
    }
    const account = await this.deps.accounts.byId(found.userId);
    if (!account) return refused;
    return this.tokensFor(account, found.sessionId);
  }

  async logOut(caller: Caller): Promise<void> {
    await this.endSessions([caller.sessionId], 'logged out');
  }

  /**
   * Changes the password and ends every session of the user, the caller's included; answers a
   * new one. The current password is checked under a limit of the user's own: log-in failures
   * (anyone's) never stand in the way, and a stolen access token still cannot guess freely.
   */
  async changePassword(caller: Caller, currentPassword: string, newPassword: string): Promise<SessionTokens | CommandError> {
    const next = checkPassword(newPassword, 'newPassword');
    if (typeof next !== 'string') return next;
    const account = await this.deps.accounts.byId(caller.userId);
    if (!account) return commandError('UNAUTHENTICATED', 'no such account');
    const limited = await this.deps.limits.passwordCheck(account.userId);
    if (limited) return limited;
    const current = checkPassword(currentPassword, 'currentPassword');
    if (!account.passwordHash || typeof current !== 'string' || !(await verifyPassword(current, account.passwordHash))) {
      return commandError('INVALID_CREDENTIALS', 'the current password is wrong');
    }
    await this.deps.limits.passwordChecked(account.userId);
    await this.deps.accounts.setPasswordHash(account.userId, await hashPassword(next));
    await this.endSessions(await this.deps.sessions.openSessionsOf(account.userId), 'password changed');
    return this.openSession(account);
  }

  /**
   * Proves the caller is the account's owner again, for an act that cannot be undone: the
   * password (under the same limit as changePassword's check), or, for an account that only
   * signs on through an identity provider, a session opened within the last REAUTH_WINDOW_MS.
   */
  async reauthenticate(caller: Caller, password: string | null): Promise<CommandError | undefined> {
    const account = await this.deps.accounts.byId(caller.userId);
    if (!account) return commandError('UNAUTHENTICATED', 'no such account');
    if (!account.passwordHash) {
      const started = await this.deps.sessions.startedAt(caller.sessionId);
      if (started !== undefined && Date.now() - started <= REAUTH_WINDOW_MS) return undefined;
      return commandError('REAUTHENTICATION_REQUIRED', 'sign on again, then retry within 10 minutes');
    }
    const limited = await this.deps.limits.passwordCheck(account.userId);
    if (limited) return limited;
    const checked = password === null ? null : checkPassword(password);
    if (typeof checked !== 'string' || !(await verifyPassword(checked, account.passwordHash))) {
      return commandError('INVALID_CREDENTIALS', 'the password is wrong');
    }
    await this.deps.limits.passwordChecked(account.userId);
    return undefined;
  }

  /** The first step of deleting an account (app/account-deletion.ts): its time, the same on every retry. */
  async startDeletion(userId: string): Promise<number> {
    return (await this.deps.accounts.startDeletion(userId, Date.now())).at;
  }

  /**
   * The last step of deleting an account: every session ended, the account emptied, and
   * AccountDeleted appended (again by finishDeletions if this is cut short).
   */
  async finishDeletion(userId: string): Promise<void> {
    const { at, eventId } = await this.deps.accounts.startDeletion(userId, Date.now());
    await this.endSessions(await this.deps.sessions.openSessionsOf(userId), 'account deleted');
    await this.deps.accounts.empty(userId);
    await this.recordDeletion(accountDeleted(userId, eventId, at));
  }

  /** Appends AccountDeleted for emptied accounts whose append was cut short. */
  async finishDeletions(): Promise<number> {
    const pending = await this.deps.accounts.undeleted(100);
    for (const event of pending) await this.recordDeletion(event);
    return pending.length;
  }

  private async recordDeletion(event: AccountDeleted): Promise<void> {
    await this.deps.accounts.markDeleted(event.userId, await this.deps.events.append(event));
  }

  async updateProfile(caller: Caller, change: ProfileChange): Promise<Profile | CommandError> {
    return this.deps.accounts.changeProfile(caller.userId, async (current) => {
      const event = decideProfileUpdate(caller.userId, current, change, Date.now());
      if (event === null) return current;
      if ('code' in event) return event;
      // Appended while the profile row is locked: the log's order of a user's changes is the order they were decided in.
      await this.deps.events.append(event);
      return { displayName: event.displayName, avatarUrl: event.avatarUrl, bio: event.bio };
    });
  }

  /**
   * The account linked to an identity provider's user (issuer + subject), created and linked
   * on the first sign-on; answers its user id. Its session is opened by sessionFor().
   */
  async signOn(identity: SignOnIdentity): Promise<string> {
    const linked = await this.deps.accounts.linkedAccount(identity.issuer, identity.subject);
    if (linked) return linked;
    // The provider's preferred name when it is free and valid, else a derived one with a suffix.
    const cleaned = (identity.username ?? '')
      .normalize('NFKC')
      .replace(/[^\p{L}\p{M}\p{N}._-]/gu, '')
      .slice(0, 24);
    // A name our rules refuse (mixed scripts, an invisible mark) would be refused with every suffix too.
    const base = cleaned && typeof checkUsername(`${cleaned}-000`) === 'string' ? cleaned : 'user';
    const displayName = identity.displayName && !checkDisplayName(identity.displayName) ? identity.displayName : null;
    for (let attempt = 0; attempt < 20; attempt++) {
      const username = attempt === 0 && base.length >= 3 ? base : `${base}-${randomBytes(3).toString('hex')}`;
      const event = decideSignUp({ userId: crypto.randomUUID(), username, displayName, commandId: null }, Date.now());
      if ('code' in event) continue;
      const outcome = await this.deps.accounts.insertLinked(
        { usernameKey: usernameKey(event.username), usernameSkeleton: usernameSkeleton(event.username), event },
        identity,
      );
      if (outcome === 'taken') continue;
      if (outcome === 'created') await this.register(event);
      // Or a concurrent first sign-on linked its account first: that one is the user's.
      return outcome === 'created' ? event.userId : outcome.linkedTo;
    }
    throw new Error('could not find a free username for a signed-on account');
  }

  async exists(userId: string): Promise<boolean> {
    return (await this.deps.accounts.byId(userId)) !== undefined;
  }

  /** A new session for an account whose identity was proven elsewhere (single sign-on). */
  async sessionFor(userId: string): Promise<SessionTokens | CommandError> {
    const account = await this.deps.accounts.byId(userId);
    if (!account) return commandError('UNAUTHENTICATED', 'no such account');
    return this.openSession(account);
  }

  /** Appends UserRegistered for accounts whose append was cut short (a crash, Kafka away). */
  async finishRegistrations(olderThanMs = 10_000): Promise<number> {
    const pending = await this.deps.accounts.unregistered(olderThanMs, 100);
    for (const event of pending) await this.register(event);
    return pending.length;
  }

  /** Skeletons for accounts older than them; a pre-existing look-alike is logged (it keeps its name, but no new one can join it). */
  async fillSkeletons(): Promise<void> {
    const clashes = await this.deps.accounts.fillSkeletons(usernameSkeleton);
    if (clashes.length)
      this.deps.log.warn('accounts whose usernames look like older ones', { userIds: clashes.slice(0, 20), count: clashes.length });
  }

  /**
   * Rebuilds the revocation cache from the record: every session ended within an access
   * token's lifetime, and the marker saying the cache is whole (SessionRevocations). At start,
   * when Redis comes back, and whenever the marker is found missing.
   */
  async rebuildRevocations(): Promise<void> {
    const ttl = this.deps.accessTokenTtlSeconds;
    await this.deps.revocations.rebuild(await this.deps.sessions.revokedSince(Date.now() - ttl * 1000), ttl);
  }

  /** Rebuilds the revocation cache if Redis lost it; answers whether it had to. */
  async keepRevocationsWhole(): Promise<boolean> {
    if (await this.deps.revocations.whole()) return false;
    await this.rebuildRevocations();
    return true;
  }

  private async openSession(account: AccountRecord): Promise<SessionTokens> {
    if (!account.registered) await this.register(account.event);
    return this.tokensFor(account, await this.deps.sessions.create(account.userId));
  }

  private async register(event: UserRegistered): Promise<void> {
    const offset = await this.deps.events.append(event);
    await this.deps.accounts.markRegistered(event.userId, offset);
  }

  private async tokensFor(account: AccountRecord, sessionId: string): Promise<SessionTokens> {
    const refreshToken = randomBytes(32).toString('base64url');
    const refreshTokenExpiresAt = Date.now() + this.deps.refreshTokenTtlMs;
    await this.deps.sessions.addRefreshToken(sessionId, tokenHash(refreshToken), refreshTokenExpiresAt);
    const access = await this.deps.tokens.issue(account.userId, sessionId);
    return {
      userId: account.userId,
      username: account.username,
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt,
    };
  }

  /**
   * Ends sessions in the cache first, then in the record, then in the cache again. A cache
   * write that fails fails the request before the record changes (the client retries; nothing
   * is ended in the record yet valid in the cache), and the second write covers a cache
   * rebuilt from the record between the first write and the commit.
   */
  private async endSessions(sessionIds: readonly string[], reason: string): Promise<void> {
    if (sessionIds.length === 0) return;
    const ttl = this.deps.accessTokenTtlSeconds;
    await this.deps.revocations.revoke(sessionIds, ttl);
    await this.deps.sessions.revoke(sessionIds, reason);
    await this.deps.revocations.revoke(sessionIds, ttl);
  }
}

/** Refresh tokens are stored as their SHA-256 only: 256 random bits need no slow hash. */
function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
