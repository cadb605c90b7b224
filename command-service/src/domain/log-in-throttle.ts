// How password guessing is slowed, as pure rules (OWASP Authentication Cheat Sheet: throttle,
// never lock an account out). Failures count per (username, address): after a few free ones
// that pair waits, and the wait doubles at each further failure up to a ceiling. A username
// that many addresses are guessing at gets fewer free failures per address, but every
// address keeps at least one attempt: a stranger's failures never stop the right password
// from the owner's address, or from a new one.

export interface ThrottleSettings {
  /** Failures of one (username, address) pair before it must wait. */
  freeFailures: number;
  /** Failures of a username from all addresses in `windowMs` after which each address gets only one free failure. */
  usernameFailuresBeforeSlowdown: number;
  /** The first wait; each further failure doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How long failures are remembered after the last wait ends. */
  windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleSettings = {
  freeFailures: 5,
  usernameFailuresBeforeSlowdown: 10,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60_000,
  windowMs: 15 * 60_000,
};

/** Free failures for a pair, given how many failures the username has from everywhere. */
export function freeFailures(settings: ThrottleSettings, usernameFailures: number): number {
  return usernameFailures >= settings.usernameFailuresBeforeSlowdown ? 1 : settings.freeFailures;
}

/** How long a pair waits after its `failures`-th failure (0 while it has free ones left). */
export function backoffMs(settings: ThrottleSettings, failures: number, free: number): number {
  if (failures < free) return 0;
  const doublings = Math.min(failures - free, 30);
  return Math.min(settings.baseDelayMs * 2 ** doublings, settings.maxDelayMs);
}
