import type pg from 'pg';
import { inTransaction } from '@chat/platform';
import type { AccountRecord, AccountStore, NewAccount, RefreshLookup, SessionStore } from '../app/accounts.ts';
import { accountDeleted, type AccountDeleted, type Profile, type UserRegistered } from '../domain/account.ts';
import type { CommandError } from '../domain/errors.ts';

// Accounts, sessions, refresh tokens and identity links in the auth_* tables (see
// migrations/003_accounts.sql).

interface AccountRow {
  user_id: string;
  username: string;
  password_hash: string | null;
  display_name: string;
  avatar_url: string | null;
  bio: string | null;
  created_at: Date;
  registered_event_id: string;
  registered_command_id: string | null;
  registered_offset: string | null;
}

const ACCOUNT_COLUMNS = `user_id, username, password_hash, display_name, avatar_url, bio, created_at,
  registered_event_id, registered_command_id, registered_offset`;

// ON CONFLICT DO NOTHING with no target: a clash on the key or on the skeleton is 'taken' alike.
const INSERT_ACCOUNT = `INSERT INTO auth_accounts
  (user_id, username, username_key, username_skeleton, password_hash, display_name, created_at, registered_event_id, registered_command_id)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`;

function accountValues({ usernameKey, usernameSkeleton, event }: NewAccount, passwordHash: string | null): unknown[] {
  return [
    event.userId,
    event.username,
    usernameKey,
    usernameSkeleton,
    passwordHash,
    event.displayName,
    new Date(event.occurredAt),
    event.eventId,
    event.commandId,
  ];
}

export class PgAccounts implements AccountStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async insert(account: NewAccount & { passwordHash: string | null }) {
    const { rowCount } = await this.pool.query(INSERT_ACCOUNT, accountValues(account, account.passwordHash));
    return rowCount === 1 ? 'created' : 'taken';
  }

  async byUsernameKey(key: string): Promise<AccountRecord | undefined> {
    const { rows } = await this.pool.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM auth_accounts WHERE username_key = $1 AND deleted_at IS NULL`,
      [key],
    );
    return rows[0] && toAccount(rows[0]);
  }

  async byId(userId: string): Promise<AccountRecord | undefined> {
    const { rows } = await this.pool.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM auth_accounts WHERE user_id = $1 AND deleted_at IS NULL`,
      [userId],
    );
    return rows[0] && toAccount(rows[0]);
  }

  async markRegistered(userId: string, offset: bigint): Promise<void> {
    await this.pool.query('UPDATE auth_accounts SET registered_offset = $2 WHERE user_id = $1', [userId, offset.toString()]);
  }

  async unregistered(olderThanMs: number, limit: number): Promise<UserRegistered[]> {
    const { rows } = await this.pool.query<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM auth_accounts
        WHERE registered_offset IS NULL AND deletion_started_at IS NULL AND created_at < now() - make_interval(secs => $1)
        ORDER BY created_at LIMIT $2`,
      [olderThanMs / 1000, limit],
    );
    return rows.map((row) => toAccount(row).event);
  }

  async changeProfile(userId: string, change: (current: Profile) => Promise<Profile | CommandError>): Promise<Profile | CommandError> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM auth_accounts WHERE user_id = $1 FOR UPDATE`, [
        userId,
      ]);
      if (!rows[0]) throw new Error(`no account ${userId}`);
      const next = await change(toAccount(rows[0]).profile);
      if (!('code' in next)) {
        await client.query('UPDATE auth_accounts SET display_name = $2, avatar_url = $3, bio = $4 WHERE user_id = $1', [
          userId,
          next.displayName,
          next.avatarUrl,
          next.bio,
        ]);
      }
      return next;
    });
  }

  async setPasswordHash(userId: string, hash: string): Promise<void> {
    await this.pool.query('UPDATE auth_accounts SET password_hash = $2 WHERE user_id = $1', [userId, hash]);
  }

  async fillSkeletons(skeletonOf: (username: string) => string): Promise<string[]> {
    const { rows } = await this.pool.query<{ user_id: string; username: string }>(
      'SELECT user_id, username FROM auth_accounts WHERE username_skeleton IS NULL ORDER BY created_at',
    );
    const clashes: string[] = [];
    for (const row of rows) {
      try {
        await this.pool.query('UPDATE auth_accounts SET username_skeleton = $2 WHERE user_id = $1 AND username_skeleton IS NULL', [
          row.user_id,
          skeletonOf(row.username),
        ]);
      } catch (error) {
        if ((error as { code?: string }).code !== '23505') throw error; // unique_violation: a look-alike has it
        clashes.push(row.user_id);
      }
    }
    return clashes;
  }

  async startDeletion(userId: string, at: number): Promise<{ at: number; eventId: string }> {
    const { rows } = await this.pool.query<{ deletion_started_at: Date; deletion_event_id: string }>(
      `UPDATE auth_accounts SET deletion_started_at = COALESCE(deletion_started_at, $2), deletion_event_id = COALESCE(deletion_event_id, $3)
        WHERE user_id = $1 RETURNING deletion_started_at, deletion_event_id`,
      [userId, new Date(at), crypto.randomUUID()],
    );
    const row = rows[0];
    if (!row) throw new Error(`account ${userId} vanished while being deleted`);
    return { at: row.deletion_started_at.getTime(), eventId: row.deletion_event_id };
  }

  async empty(userId: string): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query(
        `UPDATE auth_accounts SET username = '', username_key = 'deleted:' || user_id, username_skeleton = 'deleted:' || user_id,
                password_hash = NULL, display_name = '', avatar_url = NULL, bio = NULL, deleted_at = deletion_started_at
          WHERE user_id = $1 AND deletion_started_at IS NOT NULL`,
        [userId],
      );
      await client.query('DELETE FROM auth_identity_links WHERE user_id = $1', [userId]);
      // What they named files they uploaded and never sent (sent ones are blanked with their messages).
      await client.query("UPDATE command_uploads SET name = '' WHERE owner_id = $1 AND sent_at IS NULL", [userId]);
      await client.query('DELETE FROM auth_refresh_tokens t USING auth_sessions s WHERE t.session_id = s.session_id AND s.user_id = $1', [
        userId,
      ]);
    });
  }

  async markDeleted(userId: string, offset: bigint): Promise<void> {
    await this.pool.query('UPDATE auth_accounts SET deleted_offset = $2 WHERE user_id = $1', [userId, offset.toString()]);
  }

  async undeleted(limit: number): Promise<AccountDeleted[]> {
    const { rows } = await this.pool.query<{ user_id: string; deleted_at: Date; deletion_event_id: string }>(
      `SELECT user_id, deleted_at, deletion_event_id FROM auth_accounts WHERE deleted_at IS NOT NULL AND deleted_offset IS NULL LIMIT $1`,
      [limit],
    );
    return rows.map((row) => accountDeleted(row.user_id, row.deletion_event_id, row.deleted_at.getTime()));
  }

  async linkedAccount(issuer: string, subject: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ user_id: string }>(
      'SELECT user_id FROM auth_identity_links WHERE issuer = $1 AND subject = $2',
      [issuer, subject],
    );
    return rows[0]?.user_id;
  }

  async insertLinked(
    account: NewAccount,
    { issuer, subject }: { issuer: string; subject: string },
  ): Promise<'created' | 'taken' | { linkedTo: string }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const inserted = await client.query(INSERT_ACCOUNT, accountValues(account, null));
      if (inserted.rowCount !== 1) {
        await client.query('ROLLBACK');
        return 'taken';
      }
      const link = await client.query(
        'INSERT INTO auth_identity_links (issuer, subject, user_id) VALUES ($1, $2, $3) ON CONFLICT (issuer, subject) DO NOTHING',
        [issuer, subject, account.event.userId],
      );
      if (link.rowCount !== 1) {
        await client.query('ROLLBACK');
        const winner = await this.linkedAccount(issuer, subject);
        if (!winner) throw new Error(`identity link of ${issuer} vanished`);
        return { linkedTo: winner };
      }
      await client.query('COMMIT');
      return 'created';
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

function toAccount(row: AccountRow): AccountRecord {
  return {
    userId: row.user_id,
    username: row.username,
    passwordHash: row.password_hash,
    profile: { displayName: row.display_name, avatarUrl: row.avatar_url, bio: row.bio },
    registered: row.registered_offset !== null,
    event: {
      type: 'UserRegistered',
      eventId: row.registered_event_id,
      occurredAt: row.created_at.getTime(),
      actorId: row.user_id,
      commandId: row.registered_command_id,
      userId: row.user_id,
      username: row.username,
      // The name it was registered with: later changes are ProfileUpdated events of their own.
      displayName: row.display_name,
    },
  };
}

export class PgSessions implements SessionStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async create(userId: string): Promise<string> {
    const sessionId = crypto.randomUUID();
    await this.pool.query('INSERT INTO auth_sessions (session_id, user_id) VALUES ($1, $2)', [sessionId, userId]);
    return sessionId;
  }

  async revoke(sessionIds: readonly string[], reason: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ session_id: string }>(
      `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
        WHERE session_id = ANY($1::uuid[]) AND revoked_at IS NULL RETURNING session_id`,
      [sessionIds, reason],
    );
    return rows.map((r) => r.session_id);
  }

  async startedAt(sessionId: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ created_at: Date }>('SELECT created_at FROM auth_sessions WHERE session_id = $1', [sessionId]);
    return rows[0]?.created_at.getTime();
  }

  async openSessionsOf(userId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ session_id: string }>(
      'SELECT session_id FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL',
      [userId],
    );
    return rows.map((r) => r.session_id);
  }

  async addRefreshToken(sessionId: string, tokenHash: Buffer, expiresAt: number): Promise<void> {
    await this.pool.query('INSERT INTO auth_refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)', [
      tokenHash,
      sessionId,
      new Date(expiresAt),
    ]);
  }

  async findRefreshToken(tokenHash: Buffer): Promise<RefreshLookup> {
    const { rows } = await this.pool.query<{ session_id: string; user_id: string; used: boolean; expired: boolean; revoked: boolean }>(
      `SELECT t.session_id, s.user_id, t.used_at IS NOT NULL AS used, t.expires_at <= now() AS expired, s.revoked_at IS NOT NULL AS revoked
         FROM auth_refresh_tokens t JOIN auth_sessions s USING (session_id) WHERE t.token_hash = $1`,
      [tokenHash],
    );
    const row = rows[0];
    if (!row) return { kind: 'unknown' };
    return {
      kind: 'found',
      sessionId: row.session_id,
      userId: row.user_id,
      used: row.used,
      expired: row.expired,
      sessionRevoked: row.revoked,
    };
  }

  async consumeRefreshToken(tokenHash: Buffer): Promise<boolean> {
    const { rowCount } = await this.pool.query('UPDATE auth_refresh_tokens SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL', [
      tokenHash,
    ]);
    return rowCount === 1;
  }

  async revokedSince(since: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ session_id: string }>('SELECT session_id FROM auth_sessions WHERE revoked_at >= $1', [
      new Date(since),
    ]);
    return rows.map((r) => r.session_id);
  }
}
