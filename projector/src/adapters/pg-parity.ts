import type pg from 'pg';
import { quoteIdent } from '@chat/platform';

// Row hashes of the read-model tables, to tell whether two schemas hold the same read models:
// per table, the row count and an md5 over every row's md5 in primary-key order. Bookkeeping
// that differs by nature (when something was recorded, what was set aside and retried) is left out.

const NOT_COMPARED = new Set(['read_model_migrations', 'projection_meta', 'projection_faults', 'dead_letters']);
const VOLATILE_COLUMNS: Record<string, string[]> = { projection_checkpoints: ['updated_at'] };

export interface TableHash {
  rows: number;
  hash: string;
}

/** The tables of `schema` (a projector-made one) that parity compares, in name order. */
export async function comparedTables(client: pg.ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.name).filter((name) => !NOT_COMPARED.has(name));
}

/** Hashes `tables` as they are in `schema`, with the columns and key order of `shapeSchema`'s tables. */
export async function tableHashes(
  client: pg.ClientBase,
  schema: string,
  tables: readonly string[],
  shapeSchema: string = schema,
): Promise<Map<string, TableHash>> {
  const hashes = new Map<string, TableHash>();
  for (const table of tables) {
    const { columns, key } = await shapeOf(client, shapeSchema, table);
    const row = `ROW(${columns.map(quoteIdent).join(', ')})::text`;
    const { rows } = await client.query<TableHash>(
      `SELECT count(*)::int AS rows, coalesce(md5(string_agg(md5(${row}), '' ORDER BY ${key.map(quoteIdent).join(', ')})), '') AS hash
         FROM ${quoteIdent(schema)}.${quoteIdent(table)}`,
    );
    hashes.set(table, rows[0]!);
  }
  return hashes;
}

async function shapeOf(client: pg.ClientBase, schema: string, table: string): Promise<{ columns: string[]; key: string[] }> {
  const volatile = new Set(VOLATILE_COLUMNS[table] ?? []);
  const columns = await client.query<{ name: string }>(
    `SELECT column_name AS name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  const key = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = ($1::text)::regclass AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [`${quoteIdent(schema)}.${quoteIdent(table)}`],
  );
  const all = columns.rows.map((c) => c.name).filter((c) => !volatile.has(c));
  return { columns: all, key: key.rows.length > 0 ? key.rows.map((k) => k.name) : all };
}
