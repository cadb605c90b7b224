import type pg from 'pg';
import { quoteIdent } from '../clients.ts';
import type { KeyProvider } from './master-keys.ts';
import { ContentIntegrityError, contentKey, newKeyMaterial } from './sealing.ts';

// The key store of crypto-shredding, in the command side's Postgres tables (migration
// 008_content_keys): data keys per author, room and UTC day, wrapped by the master key, and a
// share per message or edit. Both are needed to open content, so erasing either erases it.
// The command side makes keys; the projector opens content and erases keys in the same
// transaction that purges the read models (so erasure happens exactly once in effect, with it).

/** What a sealed event names: its data key and its share. */
export interface ContentKeyRef {
  dataKeyId: string;
  shareId: string;
}

export type OpenedKey = { key: Buffer } | { erased: true };

export interface KeyCounts {
  currentMasterKey: string;
  dataKeysByMasterKey: Record<string, number>;
  erasedDataKeys: number;
  shares: number;
  erasedShares: number;
}

const DAY_MS = 86_400_000;
const SHARES_PER_REFILL = 256;
const CACHED_DATA_KEYS = 10_000;

export function utcDay(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS);
}

export class PgContentKeys {
  private readonly pool: Pick<pg.Pool, 'query'>;
  private readonly provider: KeyProvider;
  readonly dataKeys: string;
  readonly shares: string;
  private readonly erasedUsers: string;
  /** Unwrapped data keys by id and master key: unwrapping may be a KMS call. Never trusted for existence. */
  private readonly unwrapped = new Map<string, Buffer>();
  /** The write side's data keys by author, room and day. */
  private readonly current = new Map<string, { dataKeyId: string; key: Buffer }>();
  private spare: { shareId: string; share: Buffer }[] = [];
  private refilling: Promise<void> | undefined;

  /** `schema`: the command side's schema, where the tables are, whatever schema the pool reads. */
  constructor(pool: Pick<pg.Pool, 'query'>, schema: string, provider: KeyProvider) {
    this.pool = pool;
    this.provider = provider;
    this.dataKeys = `${quoteIdent(schema)}.content_data_keys`;
    this.shares = `${quoteIdent(schema)}.content_shares`;
    this.erasedUsers = `${quoteIdent(schema)}.content_erased_users`;
  }

  /**
   * Erases the data keys of a room's days before `before` (epoch ms, the start of a UTC day):
   * a room's retention passing. Answers how many keys it erased. Idempotent.
   */
  async eraseRoomBefore(roomId: string, before: number, at: number): Promise<number> {
    const beforeDay = utcDay(before);
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.dataKeys} SET wrapped = NULL, master_key_id = NULL, erased_at = $3 WHERE room_id = $1 AND day < $2 AND wrapped IS NOT NULL`,
      [roomId, beforeDay, new Date(at)],
    );
    for (const [scope] of this.current) {
      const [, room, day] = scope.split('\u0000');
      if (room === roomId && Number(day) < beforeDay) this.current.delete(scope);
    }
    return rowCount ?? 0;
  }

  /**
   * Erases every data key of a user (a deleted account): their messages in every room and their
   * profile, each a few rows whatever their number, and refuses them new keys from now on.
   * Answers the rooms the user had keys in. Idempotent. Another instance may still hold one of
   * these keys in its cache for a moment: what it seals then opens as erased (the row decides).
   */
  async eraseUser(userId: string, at: number): Promise<string[]> {
    await this.pool.query(`INSERT INTO ${this.erasedUsers} (user_id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
      userId,
      new Date(at),
    ]);
    await this.pool.query(
      `UPDATE ${this.dataKeys} SET wrapped = NULL, master_key_id = NULL, erased_at = $2 WHERE user_id = $1 AND wrapped IS NOT NULL`,
      [userId, new Date(at)],
    );
    for (const [scope] of this.current) if (scope.startsWith(`${userId}\u0000`)) this.current.delete(scope);
    const { rows } = await this.pool.query<{ room_id: string }>(
      `SELECT DISTINCT room_id FROM ${this.dataKeys} WHERE user_id = $1 AND room_id <> ''`,
      [userId],
    );
    return rows.map((row) => row.room_id);
  }

  /**
   * For new content of `userId` in `roomId` at `at` (a message or edit; a profile event has the
   * scope PROFILE_SCOPE): its key, bound to `subjectId` (the message, or the event), and the ids to record.
   */
  async keyForNew(userId: string, roomId: string, at: number, subjectId: string): Promise<{ ref: ContentKeyRef; key: Buffer }> {
    const [data, share] = await Promise.all([this.dataKeyFor(userId, roomId, utcDay(at)), this.takeShare()]);
    return { ref: { dataKeyId: data.dataKeyId, shareId: share.shareId }, key: contentKey(data.key, share.share, subjectId) };
  }

  /**
   * The content keys of `refs` (keyed by `refKey`), reading the rows every time, so a key erased
   * by another transaction is never opened from a cache. A row that is not there at all throws:
   * a lost key, or a log read with the wrong database, is a fault, not an erasure.
   */
  async open(refs: readonly (ContentKeyRef & { subjectId: string })[]): Promise<Map<string, OpenedKey>> {
    const opened = new Map<string, OpenedKey>();
    if (refs.length === 0) return opened;
    // One round trip for the batch: each distinct pair with its data key row and share row, if any.
    const pairs = [...new Map(refs.map((r) => [refKey(r), r])).values()];
    const { rows } = await this.pool.query<{
      data_key_id: string;
      share_id: string;
      data_found: boolean;
      master_key_id: string | null;
      wrapped: Buffer | null;
      share_found: boolean;
      share: Buffer | null;
    }>(
      `SELECT r.data_key_id::text, r.share_id::text, d.data_key_id IS NOT NULL AS data_found, d.master_key_id, d.wrapped,
              s.share_id IS NOT NULL AS share_found, s.share
         FROM unnest($1::uuid[], $2::uuid[]) AS r(data_key_id, share_id)
         LEFT JOIN ${this.dataKeys} d ON d.data_key_id = r.data_key_id
         LEFT JOIN ${this.shares} s ON s.share_id = r.share_id`,
      [pairs.map((p) => p.dataKeyId), pairs.map((p) => p.shareId)],
    );
    const found = new Map(rows.map((row) => [refKey({ dataKeyId: row.data_key_id, shareId: row.share_id }), row]));
    for (const ref of refs) {
      const row = found.get(refKey(ref));
      if (!row?.data_found)
        throw new ContentIntegrityError(`data key ${ref.dataKeyId} is not in ${this.dataKeys}: lost, or another database`);
      if (!row.share_found) throw new ContentIntegrityError(`share ${ref.shareId} is not in ${this.shares}: lost, or another database`);
      if (row.wrapped === null || row.share === null) {
        opened.set(refKey(ref), { erased: true });
        continue;
      }
      const dataKey = await this.unwrap(ref.dataKeyId, row.master_key_id!, row.wrapped);
      opened.set(refKey(ref), { key: contentKey(dataKey, row.share, ref.subjectId) });
    }
    return opened;
  }

  /**
   * Fails at start, naming the key, when the master keys cannot open the newest data key:
   * a wrong CONTENT_MASTER_KEYS would otherwise only show at the first message.
   */
  async verify(): Promise<void> {
    const { rows } = await this.pool
      .query<{ data_key_id: string; master_key_id: string; wrapped: Buffer }>(
        `SELECT data_key_id::text, master_key_id, wrapped FROM ${this.dataKeys} WHERE wrapped IS NOT NULL ORDER BY created_at DESC LIMIT 1`,
      )
      // No table yet (a projector starting before the first command service migrated): no key to check.
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === '42P01') return { rows: [] };
        throw error;
      });
    const row = rows[0];
    if (row) await this.unwrap(row.data_key_id, row.master_key_id, row.wrapped);
  }

  /** What the store holds: live data keys per master key, erased data keys, live and erased shares. */
  async counts(): Promise<KeyCounts> {
    const [data, shares] = await Promise.all([
      this.pool.query<{ master_key_id: string | null; n: number }>(
        `SELECT CASE WHEN wrapped IS NULL THEN NULL ELSE master_key_id END AS master_key_id, count(*)::int AS n FROM ${this.dataKeys} GROUP BY 1`,
      ),
      this.pool.query<{ erased: boolean; n: number }>(`SELECT share IS NULL AS erased, count(*)::int AS n FROM ${this.shares} GROUP BY 1`),
    ]);
    const byMasterKey: Record<string, number> = {};
    for (const row of data.rows) if (row.master_key_id !== null) byMasterKey[row.master_key_id] = row.n;
    return {
      currentMasterKey: this.provider.currentId,
      dataKeysByMasterKey: byMasterKey,
      erasedDataKeys: data.rows.find((r) => r.master_key_id === null)?.n ?? 0,
      shares: shares.rows.find((r) => !r.erased)?.n ?? 0,
      erasedShares: shares.rows.find((r) => r.erased)?.n ?? 0,
    };
  }

  /** Rewraps every data key another master key wrapped under the current one; returns how many. */
  async rotate(batch = 500): Promise<number> {
    let rewrapped = 0;
    for (;;) {
      const { rows } = await this.pool.query<{ data_key_id: string; master_key_id: string; wrapped: Buffer }>(
        `SELECT data_key_id::text, master_key_id, wrapped FROM ${this.dataKeys}
          WHERE wrapped IS NOT NULL AND master_key_id <> $1 LIMIT $2`,
        [this.provider.currentId, batch],
      );
      if (rows.length === 0) return rewrapped;
      for (const row of rows) {
        const key = await this.provider.unwrap(row.master_key_id, row.wrapped, row.data_key_id);
        const { masterKeyId, wrapped } = await this.provider.wrap(key, row.data_key_id);
        // Only if still as read: an erasure meanwhile stays an erasure.
        await this.pool.query(
          `UPDATE ${this.dataKeys} SET master_key_id = $2, wrapped = $3 WHERE data_key_id = $1 AND master_key_id = $4 AND wrapped IS NOT NULL`,
          [row.data_key_id, masterKeyId, wrapped, row.master_key_id],
        );
        rewrapped++;
      }
    }
  }

  private async unwrap(dataKeyId: string, masterKeyId: string, wrapped: Buffer): Promise<Buffer> {
    const cacheKey = `${dataKeyId}/${masterKeyId}`;
    const cached = this.unwrapped.get(cacheKey);
    if (cached) return cached;
    const key = await this.provider.unwrap(masterKeyId, wrapped, dataKeyId);
    remember(this.unwrapped, cacheKey, key);
    return key;
  }

  private async dataKeyFor(userId: string, roomId: string, day: number): Promise<{ dataKeyId: string; key: Buffer }> {
    const scope = `${userId}\u0000${roomId}\u0000${day}`;
    const cached = this.current.get(scope);
    if (cached) return cached;
    const dataKeyId = crypto.randomUUID();
    const { masterKeyId, wrapped } = await this.provider.wrap(newKeyMaterial(), dataKeyId);
    // An erased user gets an erased row (no material): what is sealed for them now opens as erased.
    await this.pool.query(
      `INSERT INTO ${this.dataKeys} (data_key_id, user_id, room_id, day, master_key_id, wrapped, erased_at)
       SELECT $1, $2, $3, $4, CASE WHEN e.user_id IS NULL THEN $5 END, CASE WHEN e.user_id IS NULL THEN $6::bytea END, e.erased_at
         FROM (SELECT 1) AS one LEFT JOIN ${this.erasedUsers} e ON e.user_id = $2
       ON CONFLICT (user_id, room_id, day) DO NOTHING`,
      [dataKeyId, userId, roomId, day, masterKeyId, wrapped],
    );
    // Ours, or the one another instance (an earlier owner of the room's partition) made first.
    const { rows } = await this.pool.query<{ data_key_id: string; master_key_id: string | null; wrapped: Buffer | null }>(
      `SELECT data_key_id::text, master_key_id, wrapped FROM ${this.dataKeys} WHERE user_id = $1 AND room_id = $2 AND day = $3`,
      [userId, roomId, day],
    );
    const row = rows[0]!;
    // Erased (a deleted account, a day past a room's retention, or an eraseUser racing this insert):
    // content sealed now goes under a key nobody keeps, naming the erased row, so it opens as
    // erased. Never a throw: sealing runs inside a transaction that carries other rooms' commands.
    if (row.wrapped === null) return { dataKeyId: row.data_key_id, key: newKeyMaterial() };
    const entry = { dataKeyId: row.data_key_id, key: await this.unwrap(row.data_key_id, row.master_key_id!, row.wrapped) };
    remember(this.current, scope, entry);
    return entry;
  }

  private async takeShare(): Promise<{ shareId: string; share: Buffer }> {
    while (this.spare.length === 0) await this.refill();
    const share = this.spare.pop()!;
    if (this.spare.length < SHARES_PER_REFILL / 4) void this.refill().catch(() => undefined); // the next take retries
    return share;
  }

  /** Shares are written before they are handed out: a sealed event never names a share that is not stored. */
  private refill(): Promise<void> {
    this.refilling ??= (async () => {
      const made = Array.from({ length: SHARES_PER_REFILL }, () => ({ shareId: crypto.randomUUID(), share: newKeyMaterial() }));
      await this.pool.query(`INSERT INTO ${this.shares} (share_id, share) SELECT * FROM unnest($1::uuid[], $2::bytea[])`, [
        made.map((m) => m.shareId),
        made.map((m) => m.share),
      ]);
      this.spare.push(...made);
    })().finally(() => {
      this.refilling = undefined;
    });
    return this.refilling;
  }
}

export function refKey(ref: ContentKeyRef): string {
  return `${ref.dataKeyId}/${ref.shareId}`;
}

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= CACHED_DATA_KEYS) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}
