import type pg from 'pg';
import { quoteIdent } from '@chat/platform';

// Row hashes of the read-model tables, to tell whether two schemas hold the same read models:
// per table, the row count and the sum of every row's 64-bit hash. Bookkeeping
// that differs by nature (when something was recorded, what was set aside and retried, what is
// still to be removed from the object store) is left out.

const NOT_COMPARED = new Set(['read_model_migrations', 'projection_meta', 'projection_faults', 'dead_letters', 'object_erasures']);
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

/** Hashes `tables` as they are in `schema`, with the columns of `shapeSchema`'s tables. */
export async function tableHashes(
  client: pg.ClientBase,
  schema: string,
  tables: readonly string[],
  shapeSchema: string = schema,
): Promise<Map<string, TableHash>> {
  const hashes = new Map<string, TableHash>();
  for (const table of tables) {
    const columns = await columnsOf(client, shapeSchema, table);
    // A sum of 64-bit row hashes: independent of row order, so no sort, and cheap enough to run
    // while the projectors are paused (an md5 per row in key order took about four times as long here).
    const row = `ROW(${columns.map(quoteIdent).join(', ')})::text`;
    const { rows } = await client.query<TableHash>(
      `SELECT count(*)::int AS rows, coalesce(sum(hashtextextended(${row}, 0)::numeric), 0)::text AS hash
         FROM ${quoteIdent(schema)}.${quoteIdent(table)}`,
    );
    hashes.set(table, rows[0]!);
  }
  return hashes;
}

async function columnsOf(client: pg.ClientBase, schema: string, table: string): Promise<string[]> {
  const volatile = new Set(VOLATILE_COLUMNS[table] ?? []);
  const { rows } = await client.query<{ name: string }>(
    `SELECT column_name AS name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  return rows.map((c) => c.name).filter((c) => !volatile.has(c));
}
