import type pg from 'pg';
import { commandError, type CommandError } from '../domain/errors.ts';

// How many rooms a user is in, from the read model (room_members), for the rooms-per-user cap
// (ROOMS_PER_USER). The room aggregate knows one room only, so the cap is checked where commands
// arrive: a soft bound, since joins of one user decided at the same moment on several partitions
// can each pass it; they are at most the commands that user may have in flight, and myEvents
// refuses to follow past the cap rather than follow some rooms.

export class PgMemberships {
  private readonly pool: Pick<pg.Pool, 'query'>;
  private readonly cap: number;

  constructor(pool: Pick<pg.Pool, 'query'>, cap: number) {
    this.pool = pool;
    this.cap = cap;
  }

  /** LIMIT_REACHED when `userId` is already in `cap` rooms other than `roomId` (re-joining one's own room always passes). */
  async roomFor(userId: string, roomId: string, who: 'you' | 'that user'): Promise<CommandError | undefined> {
    const { rows } = await this.pool.query<{ others: number }>(
      'SELECT count(*)::int AS others FROM (SELECT 1 FROM room_members WHERE user_id = $1 AND room_id::text <> $2 LIMIT $3) AS m',
      [userId, roomId, this.cap],
    );
    if ((rows[0]?.others ?? 0) < this.cap) return undefined;
    return commandError('LIMIT_REACHED', `${who === 'you' ? 'you are' : 'that user is'} in ${this.cap} rooms, the most one user may be in`);
  }

  /** The rooms a user is in or wrote in (the read model): where deleting their account must reach. */
  async roomsTouchedBy(userId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ room_id: string }>(
      `SELECT room_id::text FROM room_members WHERE user_id = $1
       UNION SELECT DISTINCT room_id::text FROM messages WHERE sender_id = $1`,
      [userId],
    );
    return rows.map((row) => row.room_id);
  }
}
