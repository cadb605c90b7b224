// Every way a command can be refused, as a code a client can switch on. The GraphQL layer
// exposes these as the ErrorCode enum; nothing else ever reaches a client.

export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'INVALID_CREDENTIALS',
  /** An act that cannot be undone needs proof the owner is there: the password, or a fresh sign-on. */
  'REAUTHENTICATION_REQUIRED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'USERNAME_TAKEN',
  'INVALID_INPUT',
  'ROOM_NOT_FOUND',
  'ROOM_ALREADY_EXISTS',
  'NOT_A_MEMBER',
  'LAST_OWNER',
  'USER_NOT_FOUND',
  'MESSAGE_NOT_FOUND',
  'MESSAGE_DELETED',
  /** A documented cap on a list (reactions, mentions) would be exceeded; see MESSAGE_CAPS. */
  'LIMIT_REACHED',
  'IDEMPOTENCY_KEY_REUSED',
  /** An attachment names no upload of the caller's, or its bytes never reached the store (the upload URL expired unused). */
  'UPLOAD_NOT_FOUND',
  /** An upload's bytes are not what may be attached: a refused type (an executable), or not the image it claimed to be. */
  'UPLOAD_REFUSED',
  /** An upload already belongs to another message. */
  'UPLOAD_IN_USE',
  'CONFLICT',
  'UNAVAILABLE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface CommandError {
  code: ErrorCode;
  message: string;
  /** With CONFLICT: the room's revision the command was checked against. */
  currentRevision?: number;
  /** With RATE_LIMITED: seconds until the caller may try again. */
  retryAfterSeconds?: number;
}

export function commandError(code: ErrorCode, message: string): CommandError {
  return { code, message };
}
