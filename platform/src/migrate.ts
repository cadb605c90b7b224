import { readFileSync, readdirSync } from 'node:fs';
import type pg from 'pg';
import { quoteIdent } from './clients.ts';

// Applies a service's migrations/*.sql in name order, each once and in its own transaction,
// inside the configured schema. Each service keeps its own ledger table, and an advisory lock
// keeps two instances starting together from racing.

export interface MigrationSet {
  /** Folder holding the .sql files. */
  dir: URL;
  /** Ledger of applied files, in the same schema. */
  ledger: string;
}

const LOCK_ID = 0x63686174; // "chat"

export async function migrate(pool: pg.Pool, schema: string, { dir, ledger }: MigrationSet): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`SET search_path TO ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoteIdent(ledger)} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ name: string }>(`SELECT name FROM ${quoteIdent(ledger)}`);
    const done = new Set(rows.map((r) => r.name));
    const applied: string[] = [];
    for (const name of readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
      if (done.has(name)) continue;
      await client.query('BEGIN');
      try {
        await client.query(readFileSync(new URL(name, dir), 'utf8'));
        await client.query(`INSERT INTO ${quoteIdent(ledger)} (name) VALUES ($1)`, [name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      applied.push(name);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    client.release();
  }
}
