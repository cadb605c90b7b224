import type { Redis } from 'ioredis';
import type pg from 'pg';
import { quoteIdent } from './clients.ts';
import { ACCESS_TOKEN } from './tokens.ts';

// Ended sessions, as every instance of every service sees them at once. Postgres is the
// record (the command service's auth_sessions.revoked_at); Redis is a cache of it: a key per
// ended session for as long as its access tokens can live, and a message on a channel for the
// sockets that must close now. Redis keeps nothing across a restart, so the cache says
// whether it is whole: a marker key, written (with no expiry) in the same transaction as a
// full rebuild from Postgres, and lost with everything else when Redis loses its data. While
// the marker is missing a session's state is asked of Postgres where the service has the
// record at hand (RevocationRecord), and otherwise the check throws: the caller answers
// UNAVAILABLE, never lets a revoked token through. The command service rebuilds at start, each
// time its Redis connection comes back, and whenever its upkeep finds the marker gone.

export interface RevocationRecord {
  /** Whether the session has ended by the durable record; a session it does not know counts as ended. */
  isRevoked(sessionId: string): Promise<boolean>;
}

/** Thrown by isRevoked while the cache is not whole and there is no record to ask. */
export class RevocationsUnknown extends Error {
  constructor() {
    super('the revocation list is being rebuilt');
    this.name = 'RevocationsUnknown';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The record in the command service's auth_sessions table (same database; read-only use). */
export function postgresRevocationRecord(pool: pg.Pool, schema: string): RevocationRecord {
  const sql = `SELECT revoked_at IS NOT NULL AS revoked FROM ${quoteIdent(schema)}.auth_sessions WHERE session_id = $1`;
  return {
    async isRevoked(sessionId) {
      if (!UUID.test(sessionId)) return true;
      const { rows } = await pool.query<{ revoked: boolean }>(sql, [sessionId]);
      return rows[0]?.revoked ?? true;
    },
  };
}

export class SessionRevocations {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly record: RevocationRecord | undefined;

  constructor(redis: Redis, prefix: string, record?: RevocationRecord) {
    this.redis = redis;
    this.prefix = prefix;
    this.record = record;
  }

  get channel(): string {
    return `${this.prefix}sessions:revoked`;
  }

  /** Caches ended sessions and tells the sockets; the caller records them in Postgres too. */
  async revoke(sessionIds: readonly string[], ttlSeconds: number): Promise<void> {
    if (sessionIds.length === 0) return;
    const ttl = ttlSeconds + ACCESS_TOKEN.clockToleranceSeconds;
    const pipeline = this.redis.multi();
    for (const sid of sessionIds) pipeline.set(this.key(sid), '1', 'EX', ttl);
    for (const sid of sessionIds) pipeline.publish(this.channel, sid);
    await pipeline.exec();
  }

  /** Writes every session the record ended within `ttlSeconds`, and marks the cache whole, in one transaction. */
  async rebuild(sessionIds: readonly string[], ttlSeconds: number): Promise<void> {
    const ttl = ttlSeconds + ACCESS_TOKEN.clockToleranceSeconds;
    const transaction = this.redis.multi();
    for (const sid of sessionIds) transaction.set(this.key(sid), '1', 'EX', ttl);
    transaction.set(this.populatedKey, new Date().toISOString());
    await transaction.exec();
  }

  /** Whether the cache holds every revocation (false after Redis lost its data, until a rebuild). */
  async whole(): Promise<boolean> {
    return (await this.redis.exists(this.populatedKey)) === 1;
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    // One round trip: the session's key and the marker.
    const [revoked, whole] = await this.redis.mget(this.key(sessionId), this.populatedKey);
    if (revoked !== null) return true;
    if (whole !== null) return false;
    if (this.record) return this.record.isRevoked(sessionId);
    throw new RevocationsUnknown();
  }

  private get populatedKey(): string {
    return `${this.prefix}session-revoked:cache-whole`;
  }

  private key(sessionId: string): string {
    return `${this.prefix}session-revoked:${sessionId}`;
  }
}
