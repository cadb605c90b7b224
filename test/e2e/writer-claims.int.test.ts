import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createPgPool, loadConfig, migrate, quoteIdent } from '@chat/platform';
import { PgWriterClaims } from '../../command-service/src/adapters/pg-writer-claims.ts';

// A partition's writer record in the real Postgres. The case that matters: an instance whose
// producer failed recovers in attempts, and an attempt that failed after renewing some claims
// left them with its own generation. The next attempt must still own them; another instance's
// claim must still win.

const schema = `t_claims_${Date.now().toString(36)}`;
let pool: pg.Pool;
let claims: PgWriterClaims;

beforeAll(async () => {
  pool = createPgPool({ ...loadConfig(), pgSchema: schema });
  await migrate(pool, schema, { dir: new URL('../../command-service/migrations/', import.meta.url), ledger: 'command_migrations' });
  claims = new PgWriterClaims(pool, 'room-events');
});

afterAll(async () => {
  await pool?.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool?.end();
});

describe('writer claims', () => {
  it('renew from any of the instance’s generations, never from another instance', async () => {
    expect(await claims.claim(3, 'a.0')).toBeUndefined();
    // First recovery attempt: renewed to a.1, then failed before the partition was read.
    expect(await claims.renew(3, ['a.0'], 'a.1')).toBe(true);
    // Its retry of the same step (the claim already moved) and the next attempt both keep it.
    expect(await claims.renew(3, ['a.0'], 'a.1')).toBe(true);
    expect(await claims.renew(3, ['a.0', 'a.1'], 'a.2')).toBe(true);
    // Another instance takes the partition: a's claim is gone, and a gives it up.
    expect(await claims.claim(3, 'b.0')).toBe('a.2');
    expect(await claims.renew(3, ['a.0', 'a.1', 'a.2'], 'a.3')).toBe(false);
    const { rows } = await pool.query(`SELECT transactional_id FROM ${quoteIdent(schema)}.command_partition_writers WHERE partition = 3`);
    expect(rows).toEqual([{ transactional_id: 'b.0' }]);
  });
});
