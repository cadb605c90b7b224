import type { EventOf } from '@chat/schemas';
import { commandError, type CommandError } from './errors.ts';
import { identifierProblem } from './identifier.ts';
import { checkText, codePointLength } from './validation.ts';

// Accounts as pure rules: what a username, password and profile may be, which usernames are
// the same, and the events that sign-up and profile changes record. Credentials never enter
// an event: UserRegistered and ProfileUpdated carry only what others may see.

export const ACCOUNT_LIMITS = {
  username: { min: 3, max: 32 },
  // NIST SP 800-63B: at least 8, allow long passphrases; the upper bound keeps hashing from
  // being used to burn CPU.
  password: { min: 8, max: 256 },
  displayName: 64,
  avatarUrl: 2048,
  bio: 500,
} as const;

export type UserRegistered = EventOf<'UserRegistered'>;
export type ProfileUpdated = EventOf<'ProfileUpdated'>;
export type AccountDeleted = EventOf<'AccountDeleted'>;
/** What the user topic records of an account. */
export type UserEvent = UserRegistered | ProfileUpdated | AccountDeleted;

export interface Profile {
  displayName: string;
  avatarUrl: string | null;
  bio: string | null;
}

// Letters, marks and digits, plus . _ -; no spaces, no symbols that look like punctuation in
// a mention. Which letters may stand together is identifier.ts's rule (UTS #39).
const USERNAME = /^[\p{L}\p{M}\p{N}._-]+$/u;

/**
 * The form two usernames share when they are the same account: NFKC, lower case, NFKC again
 * (lower-casing can leave a string un-normalized). "Zoë", "ZOË" and "Zoe\u0308" share one key.
 * Look-alikes in other letters share a skeleton instead (identifier.ts, usernameSkeleton).
 */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase().normalize('NFKC');
}

/** The username as stored and shown: NFKC of what was typed, or why it cannot be one. */
export function checkUsername(username: string): string | CommandError {
  const invalid = checkText('username', username, { max: ACCOUNT_LIMITS.username.max });
  if (invalid) return invalid;
  const shown = username.normalize('NFKC');
  if (codePointLength(shown) < ACCOUNT_LIMITS.username.min) {
    return commandError('INVALID_INPUT', `username must be at least ${ACCOUNT_LIMITS.username.min} characters`);
  }
  if (codePointLength(shown) > ACCOUNT_LIMITS.username.max) {
    return commandError('INVALID_INPUT', `username is longer than ${ACCOUNT_LIMITS.username.max} characters`);
  }
  if (!USERNAME.test(usernameKey(shown))) {
    return commandError('INVALID_INPUT', 'username may hold only letters, digits, ".", "_" and "-"');
  }
  const confusing = identifierProblem(shown);
  if (confusing) return commandError('INVALID_INPUT', `username ${confusing}`);
  return shown;
}

/**
 * The password as hashed (NFKC, as NIST SP 800-63B advises, so the same passphrase typed on
 * two keyboards matches), or why it cannot be one. Spaces count; control characters do not pass.
 */
export function checkPassword(password: string, field = 'password'): string | CommandError {
  if (password.length > ACCOUNT_LIMITS.password.max * 2) return tooLongPassword(field);
  if (!password.isWellFormed()) return commandError('INVALID_INPUT', `${field} is not well-formed Unicode (lone surrogate)`);
  if (/[\u0000-\u001F\u007F-\u009F]/.test(password)) return commandError('INVALID_INPUT', `${field} contains control characters`);
  const normalized = password.normalize('NFKC');
  const length = codePointLength(normalized);
  if (length < ACCOUNT_LIMITS.password.min) {
    return commandError('INVALID_INPUT', `${field} must be at least ${ACCOUNT_LIMITS.password.min} characters`);
  }
  if (length > ACCOUNT_LIMITS.password.max) return tooLongPassword(field);
  return normalized;
}

export function checkDisplayName(displayName: string): CommandError | undefined {
  return checkText('displayName', displayName, { max: ACCOUNT_LIMITS.displayName });
}

/** An avatar must be an absolute https URL without credentials in it. */
export function checkAvatarUrl(url: string): CommandError | undefined {
  const invalid = checkText('avatarUrl', url, { max: ACCOUNT_LIMITS.avatarUrl });
  if (invalid) return invalid;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return commandError('INVALID_INPUT', 'avatarUrl is not a URL');
  }
  if (parsed.protocol !== 'https:') return commandError('INVALID_INPUT', 'avatarUrl must be an https URL');
  if (parsed.username || parsed.password) return commandError('INVALID_INPUT', 'avatarUrl must not carry credentials');
  return undefined;
}

export function checkBio(bio: string): CommandError | undefined {
  return checkText('bio', bio, { max: ACCOUNT_LIMITS.bio, multiline: true });
}

export interface SignUp {
  userId: string;
  username: string;
  displayName: string | null;
  commandId: string | null;
}

/** Sign-up's event, or why the input cannot make an account. Uniqueness is the store's to enforce. */
export function decideSignUp(command: SignUp, now: number): UserRegistered | CommandError {
  const username = checkUsername(command.username);
  if (typeof username !== 'string') return username;
  const displayName = command.displayName ?? username;
  const invalid = checkDisplayName(displayName);
  if (invalid) return invalid;
  return {
    type: 'UserRegistered',
    eventId: crypto.randomUUID(),
    occurredAt: now,
    actorId: command.userId,
    commandId: command.commandId,
    userId: command.userId,
    username,
    displayName,
  };
}

/** A profile change: absent fields stay, null clears avatarUrl or bio. */
export interface ProfileChange {
  displayName?: string | null;
  avatarUrl?: string | null;
  bio?: string | null;
}

/** The event recording a profile change, none when nothing changes, or why it is refused. */
export function decideProfileUpdate(
  userId: string,
  current: Profile,
  change: ProfileChange,
  now: number,
): ProfileUpdated | null | CommandError {
  if (change.displayName === null) return commandError('INVALID_INPUT', 'displayName cannot be removed');
  const next: Profile = {
    displayName: change.displayName ?? current.displayName,
    avatarUrl: change.avatarUrl === undefined ? current.avatarUrl : change.avatarUrl,
    bio: change.bio === undefined ? current.bio : change.bio,
  };
  const invalid =
    checkDisplayName(next.displayName) ??
    (next.avatarUrl === null ? undefined : checkAvatarUrl(next.avatarUrl)) ??
    (next.bio === null ? undefined : checkBio(next.bio));
  if (invalid) return invalid;
  if (next.displayName === current.displayName && next.avatarUrl === current.avatarUrl && next.bio === current.bio) return null;
  return { type: 'ProfileUpdated', eventId: crypto.randomUUID(), occurredAt: now, actorId: userId, commandId: null, userId, ...next };
}

/** The event recording that an account was deleted, at the time its deletion started (its keys' erasure). */
export function accountDeleted(userId: string, eventId: string, at: number): AccountDeleted {
  return { type: 'AccountDeleted', eventId, occurredAt: at, actorId: userId, commandId: null, userId };
}

function tooLongPassword(field: string): CommandError {
  return commandError('INVALID_INPUT', `${field} is longer than ${ACCOUNT_LIMITS.password.max} characters`);
}
