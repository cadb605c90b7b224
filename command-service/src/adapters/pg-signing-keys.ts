import type pg from 'pg';
import type { JWK } from 'jose';
import { inTransaction } from '@chat/platform';
import type { KeyStore, StoredKey } from '../app/signing-keys.ts';

// The signing keys in auth_signing_keys (see migrations/003_accounts.sql). Adding one takes a
// transaction-scoped advisory lock, so instances starting together add one key, not several.

const LOCK = 'auth_signing_keys';

interface Row {
  kid: string;
  private_jwk: JWK;
  public_jwk: JWK;
  signs_from: Date;
}

export class PgSigningKeys implements KeyStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async load(): Promise<StoredKey[]> {
    return toKeys(await this.pool.query<Row>('SELECT kid, private_jwk, public_jwk, signs_from FROM auth_signing_keys ORDER BY signs_from'));
  }

  async addIfNeeded(next: (keys: StoredKey[]) => Promise<StoredKey | undefined>): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOCK]);
      const key = await next(toKeys(await client.query<Row>('SELECT kid, private_jwk, public_jwk, signs_from FROM auth_signing_keys')));
      if (key) {
        await client.query('INSERT INTO auth_signing_keys (kid, private_jwk, public_jwk, signs_from) VALUES ($1, $2, $3, $4)', [
          key.kid,
          key.privateJwk,
          key.publicJwk,
          new Date(key.signsFrom),
        ]);
      }
    });
  }
}

function toKeys(result: pg.QueryResult<Row>): StoredKey[] {
  return result.rows.map((r) => ({ kid: r.kid, privateJwk: r.private_jwk, publicJwk: r.public_jwk, signsFrom: r.signs_from.getTime() }));
}
