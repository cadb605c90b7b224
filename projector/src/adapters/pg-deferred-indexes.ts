import type pg from 'pg';
import { quoteIdent } from '@chat/platform';

// A bulk load is faster into tables without their secondary indexes: a rebuild drops the
// indexes that back no constraint (keys and unique constraints stay: they keep the load
// honest) and creates them again, as the migrations defined them, before it switches.

/** Drops the schema's indexes that back no constraint; returns the statements that recreate them. */
export async function dropSecondaryIndexes(pool: pg.Pool, schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ name: string; definition: string }>(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
    [schema],
  );
  for (const { name } of rows) await pool.query(`DROP INDEX ${quoteIdent(schema)}.${quoteIdent(name)}`);
  return rows.map((r) => r.definition);
}

export async function createIndexes(pool: pg.Pool, definitions: readonly string[]): Promise<void> {
  // Side by side: Postgres builds each on its own connection.
  await Promise.all(definitions.map((definition) => pool.query(definition)));
}
