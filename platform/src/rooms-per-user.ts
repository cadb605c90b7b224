import { intFromEnv } from './config.ts';

// How many rooms one user may be in: the command side refuses a join, a new room or a direct
// room past it (LIMIT_REACHED), and the query side's myEvents follows at most that many rooms
// per user, so no user can make an instance hold unbounded listeners. One number for both,
// so a user the command side let in is one myEvents can follow.

export const ROOMS_PER_USER_DEFAULT = 1000;

/** ROOMS_PER_USER, or its default. */
export function roomsPerUser(env: NodeJS.ProcessEnv = process.env): number {
  return intFromEnv(env, 'ROOMS_PER_USER', ROOMS_PER_USER_DEFAULT);
}
