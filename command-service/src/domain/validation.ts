import { commandError, type CommandError } from './errors.ts';

// Input limits, checked inside decide() so a bad command is refused before anything is appended.

export const LIMITS = {
  roomName: 100,
  messageBody: 4000,
  idempotencyKey: 128,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Text that must be non-blank and at most `max` characters (counted as code points). */
export function checkText(field: string, value: string, max: number): CommandError | undefined {
  if (value.trim().length === 0) return commandError('INVALID_INPUT', `${field} must not be blank`);
  const length = [...value].length;
  if (length > max) return commandError('INVALID_INPUT', `${field} is ${length} characters; the limit is ${max}`);
  // Control characters other than newline and tab have no place in chat text.
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(value)) {
    return commandError('INVALID_INPUT', `${field} contains control characters`);
  }
  return undefined;
}

export function checkIdempotencyKey(field: string, value: string | null): CommandError | undefined {
  if (value === null) return undefined;
  if (value.length === 0 || value.length > LIMITS.idempotencyKey) {
    return commandError('INVALID_INPUT', `${field} must be 1 to ${LIMITS.idempotencyKey} characters`);
  }
  return undefined;
}
