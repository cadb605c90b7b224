import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from '@chat/platform';
import { exportKeys } from '@chat/schemas';

// exportMyData: an archive of what the platform holds about its caller (their profile, the
// rooms they are in, every message of theirs that is not deleted, with its room and times, and
// their reactions), made as a job: the instance that takes the request reads the read models a
// page at a time, writes gzipped JSON to the object store (ExportArchive) and keeps the job's
// progress in Redis, where every instance reads it. One export per user at a time; a finished one
// is served for EXPORT_TTL_MS, then removed. A job whose instance died stops beating its heart
// and is started again by the next request.

export type ExportStatus = 'RUNNING' | 'READY' | 'FAILED';

export interface ExportJob {
  id: string;
  status: ExportStatus;
  /** Pages of the archive written, out of `total` (memberships, messages, reactions). */
  done: number;
  total: number;
  requestedAt: number;
  readyAt: number | null;
  expiresAt: number;
  heartbeatAt: number;
}

/** Where the archive goes (exportKeys.archive): written part by part, read back whole for its owner. */
export interface ExportArchive {
  write(key: string, chunks: AsyncIterable<Buffer>): Promise<void>;
  read(key: string): Promise<Readable | undefined>;
  remove(key: string): Promise<void>;
}

/** A new export is made at most this often; until then, the last one is the answer. */
const EXPORT_INTERVAL_MS = 60 * 60_000;
export const EXPORT_TTL_MS = 24 * 3600_000;
const HEARTBEAT_MS = 5_000;
const STALLED_MS = 30_000;
const MESSAGES_PER_PAGE = 500;

export class DataExports {
  private readonly deps: {
    pool: Pick<pg.Pool, 'query'>;
    redis: Redis;
    /** The platform's Redis prefix. */
    prefix: string;
    archive: ExportArchive;
    /** The platform's object key prefix. */
    keyPrefix: string;
    log: Logger;
  };

  constructor(deps: DataExports['deps']) {
    this.deps = deps;
  }

  /** The caller's export: the one under way or made within the hour, else a new one, started now. */
  async request(userId: string, now = Date.now()): Promise<ExportJob> {
    const current = await this.status(userId);
    const alive = current && (current.status !== 'RUNNING' || now - current.heartbeatAt < STALLED_MS);
    if (current && alive && current.status !== 'FAILED' && now - current.requestedAt < EXPORT_INTERVAL_MS) return current;
    const job: ExportJob = {
      id: crypto.randomUUID(),
      status: 'RUNNING',
      done: 0,
      total: 1,
      requestedAt: now,
      readyAt: null,
      expiresAt: now + EXPORT_TTL_MS,
      heartbeatAt: now,
    };
    // Only one request makes the job: a second one at the same moment answers the first's.
    const claimed = await this.deps.redis.set(this.lockKey(userId), job.id, 'PX', STALLED_MS, 'NX');
    if (!claimed) return (await this.status(userId)) ?? job;
    await this.save(userId, job);
    if (current) await this.deps.archive.remove(exportKeys.archive(this.deps.keyPrefix, userId, current.id)).catch(() => undefined);
    void this.run(userId, job);
    return job;
  }

  async status(userId: string): Promise<ExportJob | undefined> {
    const stored = await this.deps.redis.get(this.jobKey(userId));
    return stored ? (JSON.parse(stored) as ExportJob) : undefined;
  }

  /** The archive of export `exportId`, to its owner only, while it is ready. */
  async open(userId: string, exportId: string): Promise<Readable | undefined> {
    const job = await this.status(userId);
    if (job?.id !== exportId || job.status !== 'READY') return undefined;
    return this.deps.archive.read(exportKeys.archive(this.deps.keyPrefix, userId, exportId));
  }

  private async run(userId: string, job: ExportJob): Promise<void> {
    const beat = setInterval(() => void this.save(userId, { ...job, heartbeatAt: Date.now() }).catch(() => undefined), HEARTBEAT_MS);
    try {
      await this.deps.archive.write(exportKeys.archive(this.deps.keyPrefix, userId, job.id), gzipped(this.document(userId, job)));
      Object.assign(job, { status: 'READY', done: job.total, readyAt: Date.now() });
    } catch (error) {
      this.deps.log.warn('a data export failed', { exportId: job.id, error });
      job.status = 'FAILED';
    } finally {
      clearInterval(beat);
      await this.save(userId, { ...job, heartbeatAt: Date.now() }).catch(() => undefined);
      await this.deps.redis.del(this.lockKey(userId)).catch(() => undefined);
    }
  }

  /** The archive as one JSON document, a page at a time, counting pages into the job's progress. */
  private async *document(userId: string, job: ExportJob): AsyncGenerator<string> {
    const { pool } = this.deps;
    const counted = await pool.query<{ messages: number }>(
      'SELECT count(*)::int AS messages FROM messages WHERE sender_id = $1 AND deleted_at IS NULL',
      [userId],
    );
    job.total = 3 + Math.ceil((counted.rows[0]?.messages ?? 0) / MESSAGES_PER_PAGE);
    const progress = async () => {
      job.done++;
      await this.save(userId, { ...job, heartbeatAt: Date.now() });
    };
    const profile = await pool.query(
      `SELECT user_id AS "userId", username, display_name AS "displayName", avatar_url AS "avatarUrl", bio, registered_at AS "registeredAt"
         FROM users WHERE user_id = $1`,
      [userId],
    );
    yield `{"format":"chat-export/1","exportedAt":${JSON.stringify(new Date().toISOString())},"profile":${JSON.stringify(profile.rows[0] ?? null)}`;
    const memberships = await pool.query(
      `SELECT r.room_id AS "roomId", r.name AS "roomName", r.kind, m.role, m.joined_at AS "joinedAt"
         FROM room_members m JOIN rooms r USING (room_id) WHERE m.user_id = $1 ORDER BY m.joined_at`,
      [userId],
    );
    yield `,"memberships":${JSON.stringify(memberships.rows)}`;
    await progress();
    yield ',"messages":[';
    let after: { roomId: string; sequence: string } = { roomId: '00000000-0000-0000-0000-000000000000', sequence: '0' };
    let first = true;
    for (;;) {
      const { rows } = await pool.query<{ roomId: string; sequence: string }>(
        `SELECT m.room_id AS "roomId", r.name AS "roomName", m.sequence::text AS sequence, m.message_id AS "messageId", m.sent_at AS "sentAt",
                m.edited_at AS "editedAt", m.format, m.body, m.reply_to AS "replyTo", m.attachments
           FROM messages m JOIN rooms r USING (room_id)
          WHERE m.sender_id = $1 AND m.deleted_at IS NULL AND (m.room_id, m.sequence) > ($2::uuid, $3::bigint)
          ORDER BY m.room_id, m.sequence LIMIT $4`,
        [userId, after.roomId, after.sequence, MESSAGES_PER_PAGE],
      );
      // A page in one piece: each write to the compressor is a trip to the thread pool.
      if (rows.length > 0) yield `${first ? '' : ','}${rows.map((row) => JSON.stringify(row)).join(',')}`;
      first &&= rows.length === 0;
      if (rows.length < MESSAGES_PER_PAGE) break;
      after = rows.at(-1)!;
      await progress();
    }
    await progress();
    const reactions = await pool.query(
      `SELECT room_id AS "roomId", message_id AS "messageId", emoji, reacted_at AS "reactedAt" FROM message_reactions WHERE user_id = $1`,
      [userId],
    );
    yield `],"reactions":${JSON.stringify(reactions.rows)}}`;
    await progress();
  }

  private save(userId: string, job: ExportJob): Promise<unknown> {
    return this.deps.redis.set(this.jobKey(userId), JSON.stringify(job), 'PX', Math.max(1, job.expiresAt - Date.now()));
  }

  private jobKey(userId: string): string {
    return exportKeys.job(this.deps.prefix, userId);
  }

  private lockKey(userId: string): string {
    return `${this.deps.prefix}export-lock:${userId}`;
  }
}

async function* gzipped(text: AsyncIterable<string>): AsyncGenerator<Buffer> {
  const gzip = createGzip();
  const feeding = (async () => {
    for await (const piece of text) if (!gzip.write(piece)) await once(gzip, 'drain'); // rejects once gzip is destroyed with an error
    gzip.end();
  })();
  feeding.catch((error: unknown) => gzip.destroy(error as Error));
  try {
    for await (const chunk of gzip) yield chunk as Buffer;
    await feeding;
  } finally {
    // The reader gave up (the upload failed): the feeder must not wait for a drain that never comes.
    if (!gzip.writableFinished) gzip.destroy(new Error('the export was abandoned'));
    await feeding.catch(() => undefined);
  }
}
