import type pg from 'pg';
import type { MessageFacts } from '../app/partition-owner.ts';
import { reactionKey, type MessageFact } from '../domain/room.ts';

// Facts of messages with no activity within the command side's window, from the read model
// (the projector's messages and message_reactions). Only read for such messages: anything
// that happened within the window is in the command side's own memory, which wins.

export class PgMessageFacts implements MessageFacts {
  private readonly pool: Pick<pg.Pool, 'query'>;

  constructor(pool: Pick<pg.Pool, 'query'>) {
    this.pool = pool;
  }

  async load(roomId: string, messageId: string): Promise<MessageFact | null> {
    const { rows } = await this.pool.query<{ sender_id: string; deleted: boolean; users: string[] | null; emojis: string[] | null }>(
      `SELECT m.sender_id, m.deleted_at IS NOT NULL AS deleted, r.users, r.emojis
         FROM messages m
         LEFT JOIN LATERAL (SELECT array_agg(user_id) AS users, array_agg(emoji) AS emojis FROM message_reactions WHERE room_id = m.room_id AND message_id = m.message_id) r ON true
        WHERE m.room_id = $1 AND m.message_id = $2`,
      [roomId, messageId],
    );
    const row = rows[0];
    if (!row) return null;
    const reactions = new Set((row.users ?? []).map((user, i) => reactionKey(user, row.emojis![i]!)));
    return { roomId, author: row.sender_id, deleted: row.deleted, reactions };
  }
}
