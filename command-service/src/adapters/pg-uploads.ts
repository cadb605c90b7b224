import type pg from 'pg';
import type { Attachment } from '@chat/schemas';
import type { DailyUsage, UploadRequest } from '../domain/attachments.ts';

// The uploads table (migration 007): who asked for which upload, which send claimed it, what
// its bytes turned out to be, and whether a message with it was accepted.

export interface UploadRow {
  uploadId: string;
  name: string;
  declaredSize: number;
  declaredType: string;
  attachment: Attachment | null;
}

export type Claim = { claimed: UploadRow } | { refused: 'unknown' | 'in-use' };

export interface UnsentUpload {
  uploadId: string;
  ownerId: string;
  claimedRoom: string | null;
  claimedKey: string | null;
}

export class PgUploads {
  private readonly pool: Pick<pg.Pool, 'query'>;

  constructor(pool: Pick<pg.Pool, 'query'>) {
    this.pool = pool;
  }

  async usage(ownerId: string, since: Date): Promise<DailyUsage> {
    const { rows } = await this.pool.query<{ uploads: string; bytes: string | null }>(
      `SELECT count(*) AS uploads, sum(declared_size) AS bytes FROM command_uploads WHERE owner_id = $1 AND created_at >= $2`,
      [ownerId, since],
    );
    return { uploads: Number(rows[0]!.uploads), bytes: Number(rows[0]!.bytes ?? 0) };
  }

  async create(uploadId: string, ownerId: string, request: UploadRequest & { contentType: string }): Promise<void> {
    await this.pool.query(
      `INSERT INTO command_uploads (upload_id, owner_id, name, declared_size, declared_type) VALUES ($1, $2, $3, $4, $5)`,
      [uploadId, ownerId, request.name, request.size, request.contentType],
    );
  }

  /**
   * Claims the owner's upload for one send (room and idempotency key); the same send claims it
   * again. The condition is on the row being updated, so of two sends racing for one upload the
   * second re-reads the first one's claim and is refused.
   */
  async claim(uploadId: string, ownerId: string, roomId: string, key: string): Promise<Claim> {
    const { rows } = await this.pool.query<{
      name: string;
      declared_size: string;
      declared_type: string;
      attachment: Attachment | null;
      mine: boolean;
    }>(
      `WITH took AS (
         UPDATE command_uploads SET claimed_room = $3, claimed_key = $4
          WHERE upload_id = $1 AND owner_id = $2 AND swept_at IS NULL
            AND (claimed_key IS NULL OR (claimed_room = $3 AND claimed_key = $4))
          RETURNING name, declared_size, declared_type, attachment)
       SELECT name, declared_size, declared_type, attachment, true AS mine FROM took
       UNION ALL
       SELECT name, declared_size, declared_type, attachment, false FROM command_uploads
        WHERE upload_id = $1 AND owner_id = $2 AND swept_at IS NULL AND NOT EXISTS (SELECT 1 FROM took)`,
      [uploadId, ownerId, roomId, key],
    );
    const row = rows[0];
    if (!row) return { refused: 'unknown' };
    if (!row.mine) return { refused: 'in-use' };
    return {
      claimed: {
        uploadId,
        name: row.name,
        declaredSize: Number(row.declared_size),
        declaredType: row.declared_type,
        attachment: row.attachment,
      },
    };
  }

  async checked(uploadId: string, attachment: Attachment): Promise<void> {
    await this.pool.query(`UPDATE command_uploads SET attachment = $2 WHERE upload_id = $1`, [uploadId, JSON.stringify(attachment)]);
  }

  /** A message with these uploads was accepted: they are no longer the sweeper's. */
  async sent(uploadIds: readonly string[]): Promise<void> {
    await this.pool.query(`UPDATE command_uploads SET sent_at = now() WHERE upload_id = ANY($1::uuid[]) AND sent_at IS NULL`, [uploadIds]);
  }

  /** The send was refused: its uploads may be attached to another message. */
  async release(uploadIds: readonly string[], roomId: string, key: string): Promise<void> {
    await this.pool.query(
      `UPDATE command_uploads SET claimed_room = NULL, claimed_key = NULL
        WHERE upload_id = ANY($1::uuid[]) AND claimed_room = $2 AND claimed_key = $3 AND sent_at IS NULL`,
      [uploadIds, roomId, key],
    );
  }

  /** Unsent uploads asked for before `before`, oldest first. */
  async unsent(before: Date, limit: number): Promise<UnsentUpload[]> {
    const { rows } = await this.pool.query<{
      upload_id: string;
      owner_id: string;
      claimed_room: string | null;
      claimed_key: string | null;
    }>(
      `SELECT upload_id, owner_id, claimed_room, claimed_key FROM command_uploads
        WHERE sent_at IS NULL AND swept_at IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2`,
      [before, limit],
    );
    return rows.map((r) => ({ uploadId: r.upload_id, ownerId: r.owner_id, claimedRoom: r.claimed_room, claimedKey: r.claimed_key }));
  }

  async swept(uploadId: string): Promise<void> {
    await this.pool.query(`UPDATE command_uploads SET swept_at = now() WHERE upload_id = $1 AND sent_at IS NULL`, [uploadId]);
  }
}

/** Whether the read models hold the message a send made (the sender's key in the room): its uploads are in use. */
export async function messageExists(pool: Pick<pg.Pool, 'query'>, roomId: string, senderId: string, key: string): Promise<boolean> {
  const { rowCount } = await pool.query(`SELECT 1 FROM messages WHERE room_id = $1 AND sender_id = $2 AND client_message_id = $3`, [
    roomId,
    senderId,
    key,
  ]);
  return (rowCount ?? 0) > 0;
}
