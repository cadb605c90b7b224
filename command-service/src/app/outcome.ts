import { commandError, type CommandError } from '../domain/errors.ts';

// What a command comes to, whichever instance decided it: the GraphQL layer renders it, and
// forwarding carries it between instances as JSON.

export interface Position {
  partition: number;
  /** Kafka offset, as a decimal string (offsets are 64-bit). */
  offset: string;
}

export interface Accepted {
  ok: true;
  roomId: string;
  /** The event that records the command; null when the command changed nothing (a repeat join). */
  eventId: string | null;
  position: Position | null;
  /** The room's revision after the command. */
  revision: number;
  messageId: string | null;
  /** True when this answers a retry of a command already accepted. */
  duplicate: boolean;
  /** True when the read models already include the change. */
  projected: boolean;
}

export type Outcome = Accepted | { ok: false; error: CommandError };

/** The command did not run, or may not have: a retry with the same idempotency key is safe. */
export function unavailable(message: string): Outcome {
  return { ok: false, error: commandError('UNAVAILABLE', message) };
}
