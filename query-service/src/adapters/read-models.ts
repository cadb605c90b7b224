import type pg from 'pg';
import type { MessageView, RoomEventView } from '@chat/schemas';

// Every read the query service makes of Postgres.

export interface RoomView {
  id: string;
  name: string;
  topic: string | null;
  /** Days of history the room keeps; null keeps everything. */
  retentionDays: number | null;
  visibility: 'PUBLIC' | 'PRIVATE';
  kind: 'GROUP' | 'DIRECT';
  createdBy: string;
  createdAt: number;
  lastSequence: number;
  /** The room's committed revision: its events up to this one are in room_events. */
  revision: number;
}

export interface MemberView {
  roomId: string;
  userId: string;
  role: 'OWNER' | 'ADMIN' | 'MEMBER';
  joinedAt: number;
}

const ROOM_COLUMNS = `room_id AS id, name, topic, retention_days AS "retentionDays", visibility, kind, created_by AS "createdBy",
  (extract(epoch FROM created_at) * 1000)::float8 AS "createdAt", last_sequence::int AS "lastSequence",
  revision::int AS revision`;

export interface UserView {
  id: string;
  username: string;
  displayName: string;
  avatarUrl: string | null;
  bio: string | null;
  /** The account was deleted: only its id is left. */
  deleted: boolean;
}

const USER_COLUMNS = `user_id AS id, username, display_name AS "displayName", avatar_url AS "avatarUrl", bio, deleted_at IS NOT NULL AS deleted`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const MESSAGE_COLUMNS = `room_id AS "roomId", sequence::int AS sequence, message_id AS "messageId", sender_id AS "senderId",
  client_message_id AS "clientMessageId", body, (extract(epoch FROM sent_at) * 1000)::float8 AS "sentAt",
  reply_to AS "replyTo", (extract(epoch FROM edited_at) * 1000)::float8 AS "editedAt", deleted_at IS NOT NULL AS deleted, format, attachments`;

export interface ReactionView {
  emoji: string;
  count: number;
  /** The users who reacted, for "whether I reacted". */
  userIds: string[];
}

/** Where the read models are read from: a pool, or one that follows the active read-model schema. */
export type ReadModelQueries = Pick<pg.Pool, 'query'>;

export class ReadModels {
  private readonly pool: ReadModelQueries;

  constructor(pool: ReadModelQueries) {
    this.pool = pool;
  }

  /** Messages of a room with sequence > `after`, oldest first. */
  async messagesAfter(roomId: string, after: number, limit: number): Promise<MessageView[]> {
    const { rows } = await this.pool.query<MessageView>(
      // messages.sequence, not the int `sequence` of the select list: ordering by that cast sorted the whole room.
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND sequence > $2 ORDER BY messages.sequence LIMIT $3`,
      [roomId, after, limit],
    );
    return rows;
  }

  /** The newest `limit` messages with sequence < `before` (all when null), returned oldest first. */
  async messagesBefore(roomId: string, before: number | null, limit: number): Promise<MessageView[]> {
    const { rows } = await this.pool.query<MessageView>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND ($2::bigint IS NULL OR sequence < $2)
        ORDER BY messages.sequence DESC LIMIT $3`,
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
    const { rows } = await this.pool.query<RoomView>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE room_id = ANY($1::uuid[])`, [ids]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  /** For DataLoader: messages by id, in the order asked, undefined where missing. */
  async messagesByIds(ids: readonly string[]): Promise<(MessageView | undefined)[]> {
    const { rows } = await this.pool.query<MessageView>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE message_id = ANY($1::uuid[])`, [
      ids.filter((id) => UUID.test(id)),
    ]);
    const byId = new Map(rows.map((r) => [r.messageId, r]));
    return ids.map((id) => byId.get(id));
  }

  /**
   * For DataLoader, keyed by `reactionsKey(roomId, messageId)`: each message's reactions grouped
   * by emoji, in the order first used. By room and id, as everything about a message is.
   */
  async reactionsOf(keys: readonly string[]): Promise<ReactionView[][]> {
    const pairs = keys.map((k) => k.split(' ')).filter((p): p is [string, string] => p.length === 2 && p.every((id) => UUID.test(id)));
    const { rows } = await this.pool.query<{ key: string; emoji: string; user_ids: string[] }>(
      `SELECT r.room_id || ' ' || r.message_id AS key, r.emoji, array_agg(r.user_id ORDER BY r.reacted_at) AS user_ids
         FROM unnest($1::uuid[], $2::uuid[]) AS v(room_id, message_id)
         JOIN message_reactions r ON r.room_id = v.room_id AND r.message_id = v.message_id
        GROUP BY r.room_id, r.message_id, r.emoji ORDER BY r.room_id, r.message_id, min(r.reacted_at)`,
      [pairs.map(([room]) => room), pairs.map(([, message]) => message)],
    );
    const byMessage = new Map<string, ReactionView[]>();
    for (const row of rows) {
      const list = byMessage.get(row.key) ?? [];
      list.push({ emoji: row.emoji, count: row.user_ids.length, userIds: row.user_ids });
      byMessage.set(row.key, list);
    }
    return keys.map((k) => byMessage.get(k.toLowerCase()) ?? []);
  }

  /** For DataLoader: users by id, in the order asked, undefined where missing. */
  async usersByIds(ids: readonly string[]): Promise<(UserView | undefined)[]> {
    const { rows } = await this.pool.query<UserView>(
      `SELECT ${USER_COLUMNS} FROM users WHERE user_id = ANY($1::uuid[])`,
      // Ids from before accounts existed (plain names) are no user's: leave them out of the cast.
      [ids.filter((id) => UUID.test(id))],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  /** The caller's standing in a room: their role, or whether they are invited. */
  async standing(roomId: string, userId: string): Promise<{ role: MemberView['role'] | null; invited: boolean }> {
    const { rows } = await this.pool.query<{ role: MemberView['role'] | null; invited: boolean }>(
      `SELECT (SELECT role FROM room_members WHERE room_id = $1 AND user_id = $2) AS role,
              EXISTS (SELECT 1 FROM room_invitations WHERE room_id = $1 AND user_id = $2) AS invited`,
      [roomId, userId],
    );
    return rows[0] ?? { role: null, invited: false };
  }

  /** A page of a room's members in user-id order: after `after` forward, or before `before` backward. */
  async members(
    roomId: string,
    page: { after: string | null; before: string | null; limit: number; backward: boolean },
  ): Promise<MemberView[]> {
    const { rows } = await this.pool.query<MemberView>(
      `SELECT room_id AS "roomId", user_id AS "userId", role, (extract(epoch FROM joined_at) * 1000)::float8 AS "joinedAt"
         FROM room_members
        WHERE room_id = $1 AND ($2::text IS NULL OR user_id > $2) AND ($3::text IS NULL OR user_id < $3)
        ORDER BY user_id ${page.backward ? 'DESC' : 'ASC'} LIMIT $4`,
      [roomId, page.after, page.before, page.limit],
    );
    return page.backward ? rows.reverse() : rows;
  }

  /** Public group rooms whose name contains `search`, by name, after the (name, id) cursor. */
  async publicRooms(search: string | null, after: [string, string] | null, limit: number): Promise<RoomView[]> {
    const { rows } = await this.pool.query<RoomView>(
      `SELECT ${ROOM_COLUMNS} FROM rooms
        WHERE visibility = 'PUBLIC' AND kind = 'GROUP'
          AND ($1::text IS NULL OR lower(name) LIKE '%' || lower($1) || '%')
          AND ($2::text IS NULL OR (lower(name), room_id) > ($2, $3::uuid))
        ORDER BY lower(name), room_id LIMIT $4`,
      [search === null ? null : escapeLike(search), after?.[0] ?? null, after?.[1] ?? null, limit],
    );
    return rows;
  }

  /** The user's rooms, newest activity first, after the (activity, id) cursor. */
  async myRooms(userId: string, after: [number, string] | null, limit: number): Promise<(RoomView & { activityAt: number })[]> {
    const { rows } = await this.pool.query<RoomView & { activityAt: number }>(
      `SELECT ${ROOM_COLUMNS}, (extract(epoch FROM r.last_activity_at) * 1000)::float8 AS "activityAt"
         FROM room_members m JOIN rooms r USING (room_id)
        WHERE m.user_id = $1 AND ($2::float8 IS NULL OR (r.last_activity_at, r.room_id) < (to_timestamp($2 / 1000.0), $3::uuid))
        ORDER BY r.last_activity_at DESC, r.room_id DESC LIMIT $4`,
      [userId, after?.[0] ?? null, after?.[1] ?? null, limit],
    );
    return rows;
  }

  /** For DataLoader, keyed by "roomId user": unread messages and unread mentions of a member. */
  async unreadOf(keys: readonly string[]): Promise<{ messages: number; mentions: number }[]> {
    const pairs = keys.map((k) => k.split(' ') as [string, string]);
    const { rows } = await this.pool.query<{ room_id: string; user_id: string; messages: number; mentions: number }>(
      `SELECT v.room_id::text, v.user_id,
              GREATEST(0, r.last_sequence - m.read_up_to)::int AS messages,
              (SELECT count(*) FROM message_mentions mm JOIN messages msg USING (room_id, message_id)
                WHERE mm.user_id = v.user_id AND mm.room_id = v.room_id AND mm.sequence > m.read_up_to AND msg.deleted_at IS NULL)::int AS mentions
         FROM unnest($1::uuid[], $2::text[]) AS v(room_id, user_id)
         JOIN room_members m ON m.room_id = v.room_id AND m.user_id = v.user_id
         JOIN rooms r ON r.room_id = v.room_id`,
      [pairs.map(([room]) => room), pairs.map(([, user]) => user)],
    );
    const byKey = new Map(rows.map((r) => [`${r.room_id} ${r.user_id}`, r]));
    return keys.map((k) => byKey.get(k) ?? { messages: 0, mentions: 0 });
  }

  /** For DataLoader: each room's newest message, undefined when it has none. */
  async lastMessages(roomIds: readonly string[]): Promise<(MessageView | undefined)[]> {
    const { rows } = await this.pool.query<MessageView>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
        WHERE (room_id, sequence) IN (SELECT room_id, last_sequence FROM rooms WHERE room_id = ANY($1::uuid[]))`,
      [roomIds],
    );
    const byRoom = new Map(rows.map((r) => [r.roomId, r]));
    return roomIds.map((id) => byRoom.get(id));
  }

  /**
   * Whether `words` (web-search syntax) need at least one word to be present: a query of only
   * exclusions (`-x`), or of no words at all, would match every message of the caller's rooms,
   * which is a listing, not a search. Postgres's own reading of the query says so: its
   * indexable part (querytree) is then T (everything) or empty.
   */
  async searchable(words: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ tree: string }>(`SELECT querytree(websearch_to_tsquery('simple', $1)) AS tree`, [words]);
    const tree = rows[0]?.tree ?? '';
    return tree !== '' && tree !== 'T';
  }

  /**
   * Messages matching `words` (web-search syntax: words, "quoted phrases", -excluded) in the
   * rooms the user is a member of, best match first, after the (rank, id) cursor. Never a
   * deleted message (its body is gone; the condition says so even of a body that matched).
   */
  async searchMessages(
    userId: string,
    words: string,
    after: [number, string] | null,
    limit: number,
  ): Promise<(MessageView & { rank: number })[]> {
    const { rows } = await this.pool.query<MessageView & { rank: number }>(
      `WITH q AS (SELECT websearch_to_tsquery('simple', $2) AS query)
       SELECT * FROM (
         SELECT ${MESSAGE_COLUMNS}, ts_rank(to_tsvector('simple', body), q.query)::float8 AS rank
           FROM messages, q
          WHERE to_tsvector('simple', body) @@ q.query AND deleted_at IS NULL
            AND room_id IN (SELECT room_id FROM room_members WHERE user_id = $1)
       ) found
        WHERE $3::float8 IS NULL OR (rank, "messageId") < ($3, $4::uuid)
        ORDER BY rank DESC, "messageId" DESC LIMIT $5`,
      [userId, words, after?.[0] ?? null, after?.[1] ?? null, limit],
    );
    return rows;
  }

  /**
   * A room's events with revision > `after`, oldest first: a MessageSent with its message as
   * history has it now, a MessageEdited with the text of that edit while its message is not
   * deleted (message_edits loses it with the message). Only ever this room's messages.
   */
  async eventsAfter(roomId: string, after: number, limit: number): Promise<RoomEventView[]> {
    const { rows } = await this.pool.query<RoomEventView & { messageRow: MessageView | null }>(
      `SELECT e.room_id AS "roomId", e.revision::int AS revision, e.type, e.actor_id AS "actorId",
              (extract(epoch FROM e.occurred_at) * 1000)::float8 AS "occurredAt",
              CASE WHEN ed.body IS NULL THEN e.data ELSE e.data || jsonb_build_object('body', ed.body) END AS data,
              (SELECT row_to_json(m) FROM (SELECT ${MESSAGE_COLUMNS} FROM messages
                WHERE e.type = 'MessageSent' AND room_id = e.room_id AND message_id = (e.data ->> 'messageId')::uuid) m) AS "messageRow"
         FROM room_events e
         LEFT JOIN message_edits ed ON e.type = 'MessageEdited' AND ed.room_id = e.room_id
               AND ed.message_id = (e.data ->> 'messageId')::uuid AND ed.revision = e.revision
        WHERE e.room_id = $1 AND e.revision > $2 ORDER BY e.revision LIMIT $3`,
      [roomId, after, limit],
    );
    return rows.map(({ messageRow, ...event }) => (messageRow ? { ...event, message: messageRow } : event));
  }

  /** The committed revision of each room that exists, in one statement. */
  async revisionsOf(roomIds: readonly string[]): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ room_id: string; revision: number }>(
      'SELECT room_id, revision::int AS revision FROM rooms WHERE room_id = ANY($1::uuid[])',
      [roomIds],
    );
    return new Map(rows.map((r) => [r.room_id, r.revision]));
  }

  async lastRevision(roomId: string): Promise<number> {
    return (await this.revisionsOf([roomId])).get(roomId) ?? 0;
  }

  /** Rooms the user is invited to and has not joined. */
  async invitationsOf(userId: string): Promise<{ roomId: string; invitedBy: string; invitedAt: number }[]> {
    const { rows } = await this.pool.query<{ roomId: string; invitedBy: string; invitedAt: number }>(
      `SELECT room_id AS "roomId", invited_by AS "invitedBy", (extract(epoch FROM invited_at) * 1000)::float8 AS "invitedAt"
         FROM room_invitations WHERE user_id = $1 ORDER BY invited_at DESC LIMIT 200`,
      [userId],
    );
    return rows;
  }

  /** Users whose username or display name starts with `search`, ignoring case. */
  async searchUsers(search: string, limit: number): Promise<UserView[]> {
    const { rows } = await this.pool.query<UserView>(
      `SELECT ${USER_COLUMNS} FROM users
        WHERE (lower(username) LIKE lower($1) || '%' OR lower(display_name) LIKE lower($1) || '%') AND deleted_at IS NULL
        ORDER BY lower(username) LIMIT $2`,
      [escapeLike(search), limit],
    );
    return rows;
  }

  async roomIdsOf(userId: string, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ room_id: string }>(
      'SELECT room_id FROM room_members WHERE user_id = $1 ORDER BY joined_at LIMIT $2',
      [userId, limit],
    );
    return rows.map((r) => r.room_id);
  }
}

/** The reactions loader's key: a message is named by its room and its id. */
export function reactionsKey(roomId: string, messageId: string): string {
  return `${roomId} ${messageId}`.toLowerCase();
}

/** `search` as a literal inside a LIKE pattern: its own % and _ match themselves. */
function escapeLike(search: string): string {
  return search.replace(/[\\%_]/g, (c) => `\\${c}`);
}
