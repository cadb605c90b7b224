import { commandError, type CommandError } from './errors.ts';
import { invisibleTextProblem, type TextKind } from './visible-text.ts';

// What every string the command side accepts must be, checked at the door so a bad command
// is refused before anything is appended. Our topics are read by strict decoders in other
// languages, and Postgres refuses NUL: a string that passes here is well-formed Unicode with
// no NUL and no control characters (newline and tab only where `multiline`), within its
// limit counted in code points, and it shows what it holds (visible-text.ts: one-line text
// follows the rule for names, multiline text the one for prose).

export const LIMITS = {
  roomName: 100,
  roomTopic: 500,
  messageBody: 4000,
  /** Idempotency keys, user ids and any other identifier a client names. */
  id: 128,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
// C0 controls, DEL and C1 controls; newline and tab are let through separately for multiline text.
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
const CONTROL_EXCEPT_NEWLINE_AND_TAB = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export interface TextRule {
  max: number;
  /** Newline and tab allowed (message bodies only). */
  multiline?: boolean;
  /** Which visibility rule (visible-text.ts): by default 'name' for one line, 'prose' for several. */
  visibleAs?: TextKind;
}

/** Non-blank, well-formed, control-free text of at most `max` code points. */
export function checkText(field: string, value: string, { max, multiline = false, visibleAs }: TextRule): CommandError | undefined {
  // Before anything else: a huge value is refused without scanning it.
  if (value.length > max * 2) return tooLong(field, max);
  if (!value.isWellFormed()) return commandError('INVALID_INPUT', `${field} is not well-formed Unicode (lone surrogate)`);
  if ((multiline ? CONTROL_EXCEPT_NEWLINE_AND_TAB : CONTROL).test(value)) {
    return commandError('INVALID_INPUT', `${field} contains NUL or control characters`);
  }
  if (value.trim().length === 0) return commandError('INVALID_INPUT', `${field} must not be blank`);
  // Shows what it holds: no bidi override, invisible filler or blank-looking value (visible-text.ts).
  const invisible = invisibleTextProblem(value, visibleAs ?? (multiline ? 'prose' : 'name'));
  if (invisible) return commandError('INVALID_INPUT', `${field} ${invisible}`);
  if (codePointLength(value) > max) return tooLong(field, max);
  return undefined;
}

/** Length as a person counts it more nearly than UTF-16 units do: code points. */
export function codePointLength(value: string): number {
  let length = 0;
  for (const _ of value) length++;
  return length;
}

/** An identifier a client chose (idempotency key, user id): the same rule as text, one line, ≤ LIMITS.id. */
export function checkId(field: string, value: string): CommandError | undefined {
  return checkText(field, value, { max: LIMITS.id });
}

function tooLong(field: string, max: number): CommandError {
  return commandError('INVALID_INPUT', `${field} is longer than ${max} characters`);
}
