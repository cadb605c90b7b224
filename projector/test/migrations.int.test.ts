import { readdirSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, loadConfig, quoteIdent } from '@chat/platform';
import { migrate } from '../src/adapters/migrate.ts';

// The read models' migrations run through node-pg-migrate: every file once, in order, even
// when instances start together, and a schema migrated by the earlier hand-written runner
// keeps what it has instead of applying everything again.

const schema = `t_migrations_${Date.now().toString(36)}`;
const files = readdirSync(new URL('../migrations/', import.meta.url))
  .filter((f) => f.endsWith('.sql'))
  .map((f) => f.replace(/\.sql$/, ''))
  .sort();
let pool: pg.Pool;

beforeAll(() => {
  pool = createPgPool({ ...loadConfig(), pgSchema: schema }, 4);
});

afterAll(async () => {
  await pool?.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool?.end();
});

describe('read-model migrations', () => {
  it('apply every file once, in order, with two instances starting together', async () => {
    const [first, second] = await Promise.all([migrate(pool, schema), migrate(pool, schema)]);
    expect([...first!, ...second!].sort()).toEqual(files);
    const { rows } = await pool.query<{ name: string }>('SELECT name FROM read_model_migrations ORDER BY id');
    expect(rows.map((r) => r.name)).toEqual(files);
    expect(await migrate(pool, schema)).toEqual([]);
  });

  it('take over the ledger of the earlier runner without applying anything again', async () => {
    await pool.query(`DROP TABLE read_model_migrations;
      CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    await pool.query('INSERT INTO schema_migrations (name) SELECT unnest($1::text[])', [files.map((f) => `${f}.sql`)]);
    expect(await migrate(pool, schema)).toEqual([]);
    const { rows } = await pool.query<{ name: string }>('SELECT name FROM read_model_migrations ORDER BY id');
    expect(rows.map((r) => r.name)).toEqual(files);
    expect((await pool.query(`SELECT to_regclass('schema_migrations') AS old`)).rows[0].old).toBeNull();
  });
});
