import type pg from 'pg';
import { quoteIdent } from '@chat/platform';

// Where a text still is in a stack's Postgres: the erasure tests' check that what was deleted is
// gone from every table, the command side's and every generation of read models alike.

/** Every table of the schema `pgSchema` and its read-model schemas with a row whose text holds `text`. */
export async function rowsHolding(db: Pick<pg.Pool, 'query'>, pgSchema: string, text: string): Promise<string[]> {
  const { rows: tables } = await db.query<{ table_schema: string; table_name: string }>(
    `SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND (table_schema = $1 OR table_schema LIKE $1 || '\\_rm%')`,
    [pgSchema],
  );
  const found: string[] = [];
  for (const { table_schema, table_name } of tables) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${quoteIdent(table_schema)}.${quoteIdent(table_name)} t WHERE t::text LIKE $1`,
      [`%${text}%`],
    );
    if (rows[0]!.n > 0) found.push(`${table_schema}.${table_name}`);
  }
  return found;
}
