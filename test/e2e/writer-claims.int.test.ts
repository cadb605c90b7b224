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
    expect(await claims.claim(3, 'a.0')).toEqual([]);
    // First recovery attempt: renewed to a.1, then failed before the partition was read.
    expect(await claims.renew(3, ['a.0'], 'a.1')).toEqual([]);
    // Its retry of the same step (the claim already moved) and the next attempt both keep it.
    expect(await claims.renew(3, ['a.0'], 'a.1')).toEqual([]);
    expect(await claims.renew(3, ['a.0', 'a.1'], 'a.2')).toEqual([]);
    // Another instance takes the partition: a's claim is gone, and a gives it up.
    expect(await claims.claim(3, 'b.0')).toEqual(['a.2']);
    expect(await claims.renew(3, ['a.0', 'a.1', 'a.2'], 'a.3')).toBeUndefined();
    const { rows } = await pool.query(`SELECT transactional_id FROM ${quoteIdent(schema)}.command_partition_writers WHERE partition = 3`);
    expect(rows).toEqual([{ transactional_id: 'b.0' }]);
  });

  it('keep a replaced writer listed until its fence is recorded, for a retried claim and for the next claimant', async () => {
    expect(await claims.claim(5, 'a.0')).toEqual([]);
    expect(await claims.claim(5, 'b.0')).toEqual(['a.0']);
    // b's fence of a.0 failed (the broker was down): its retry must fence a.0 still.
    expect(await claims.claim(5, 'b.0')).toEqual(['a.0']);
    // c takes the partition before b fenced anything: c fences both.
    expect((await claims.claim(5, 'c.0')).sort()).toEqual(['a.0', 'b.0']);
    // A late record of b's fence changes nothing: b no longer holds the partition.
    await claims.fenced(5, 'b.0', ['a.0']);
    expect((await claims.renew(5, [], 'c.0'))?.sort()).toEqual(['a.0', 'b.0']);
    await claims.fenced(5, 'c.0', ['a.0', 'b.0']);
    expect(await claims.renew(5, [], 'c.0')).toEqual([]);
  });
});
