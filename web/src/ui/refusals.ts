// What the web client says when a command is refused: one line a person reads, for its code.

/** A friendly line for a refused command's code. */
export function describeRefusal(error: { code: string | null; message: string | null; retryAfterSeconds?: number | null }): string {
  if (error.code === 'RATE_LIMITED') return `Too many attempts; try again in ${error.retryAfterSeconds ?? 'a few'} s.`;
  // The command names the limit (reactions, different emojis or mentions on a message; rooms); this says it is one.
  if (error.code === 'LIMIT_REACHED') return `That goes over a limit: ${error.message ?? 'too many reactions, mentions or rooms'}.`;
  // A file named in a send: never arrived (or is gone), refused for what it is, or already sent.
  if (error.code === 'UPLOAD_NOT_FOUND') return 'A file did not reach the server (or is no longer there): attach it again.';
  if (error.code === 'UPLOAD_REFUSED') return `That file cannot be sent: ${error.message ?? 'its type is not allowed'}.`;
  if (error.code === 'UPLOAD_IN_USE') return 'A file was already sent with another message: attach it again.';
  return error.message ?? 'That did not work.';
}

/**
 * Why the room list stopped following live (myEvents ended), or null when nothing need be said:
 * past the rooms one user's myEvents follows (LIMIT_REACHED) it is refused until they leave some.
 */
export function describeLiveListEnd(errors: readonly { message: string; extensions?: { code?: unknown } }[]): string | null {
  const limit = errors.find((error) => error.extensions?.code === 'LIMIT_REACHED');
  if (!limit) return null;
  return `Your room list no longer updates live: ${limit.message}. Leave rooms you no longer need, then reload.`;
}
