import type pg from 'pg';
import type { MessageView } from '@chat/schemas';

// Every read the query service makes of Postgres.

export interface RoomView {
  id: string;
  name: string;
  createdBy: string;
  createdAt: number;
  lastSequence: number;
}

export interface UserView {
  id: string;
  username: string;
  displayName: string;
  avatarUrl: string | null;
  bio: string | null;
}

const MESSAGE_COLUMNS = `room_id AS "roomId", sequence::int AS sequence, message_id AS "messageId", sender_id AS "senderId",
  client_message_id AS "clientMessageId", body, (extract(epoch FROM sent_at) * 1000)::float8 AS "sentAt"`;

export class ReadModels {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Messages of a room with sequence > `after`, oldest first. */
  async messagesAfter(roomId: string, after: number, limit: number): Promise<MessageView[]> {
    const { rows } = await this.pool.query<MessageView>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3`,
      [roomId, after, limit],
    );
    return rows;
  }

  /** The newest `limit` messages with sequence < `before` (all when null), returned oldest first. */
  async messagesBefore(roomId: string, before: number | null, limit: number): Promise<MessageView[]> {
    const { rows } = await this.pool.query<MessageView>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND ($2::bigint IS NULL OR sequence < $2)
        ORDER BY sequence DESC LIMIT $3`,
      [roomId, before, limit],
    );
    return rows.reverse();
  }

  async lastSequence(roomId: string): Promise<number> {
    const { rows } = await this.pool.query<{ last: number }>('SELECT last_sequence::int AS last FROM rooms WHERE room_id = $1', [roomId]);
    return rows[0]?.last ?? 0;
  }

  async isMember(roomId: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2', [roomId, userId]);
    return rowCount === 1;
  }

  /** For DataLoader: rooms by id, in the order asked, undefined where missing. */
  async roomsByIds(ids: readonly string[]): Promise<(RoomView | undefined)[]> {
    const { rows } = await this.pool.query<RoomView>(
      `SELECT room_id AS id, name, created_by AS "createdBy", (extract(epoch FROM created_at) * 1000)::float8 AS "createdAt",
              last_sequence::int AS "lastSequence"
         FROM rooms WHERE room_id = ANY($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  /** For DataLoader: users by id, in the order asked, undefined where missing. */
  async usersByIds(ids: readonly string[]): Promise<(UserView | undefined)[]> {
    const { rows } = await this.pool.query<UserView>(
      `SELECT user_id AS id, username, display_name AS "displayName", avatar_url AS "avatarUrl", bio
         FROM users WHERE user_id = ANY($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  async roomIdsOf(userId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ room_id: string }>('SELECT room_id FROM room_members WHERE user_id = $1 ORDER BY joined_at', [
      userId,
    ]);
    return rows.map((r) => r.room_id);
  }
}
