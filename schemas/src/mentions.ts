// What counts as an @mention in a message body, in one place: the command side caps how many
// a message may hold (see the room decider) and the projector records them, and both must
// read a body the same way or a capped message could still project more mentions than the cap.

/** `@name` in a message body, as a username key (NFKC, lower case), the way accounts compare names. */
const MENTION = /(?<![\p{L}\p{M}\p{N}._@-])@([\p{L}\p{M}\p{N}._-]{3,32})/gu;

/** The distinct names a body mentions, in order of first mention. */
export function mentionedNames(body: string): string[] {
  return [...new Set([...body.matchAll(MENTION)].map((m) => m[1]!.normalize('NFKC').toLowerCase().normalize('NFKC')))];
}
