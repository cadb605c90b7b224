import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type pg from 'pg';
import { quoteIdent } from './clients.ts';
import { transactionOn } from './transaction.ts';

// Applies a service's migrations/*.sql with node-pg-migrate: in name order, each once, inside
// the configured schema, with a ledger table of the service's own there (two services may
// share a schema). Instances starting together wait on one advisory lock, one after the other.

export interface MigrationSet {
  /** Folder holding the .sql files. */
  dir: URL;
  /** Ledger of applied migrations, in the same schema. */
  ledger: string;
}

const LOCK_ID = 0x63686174; // "chat"

export async function migrate(pool: pg.Pool, schema: string, { dir, ledger }: MigrationSet): Promise<string[]> {
  const client = await pool.connect();
  try {
    // Our own lock around node-pg-migrate's work, since creating the schema and taking over an
    // old ledger must not race either.
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await adoptOldLedger(client, schema, ledger);
    const applied = await runner({
      dbClient: client,
      dir: fileURLToPath(dir),
      schema,
      migrationsTable: ledger,
      direction: 'up',
      // Each file in a transaction of its own, so a failing one leaves the earlier ones applied.
      singleTransaction: false,
      noLock: true,
      log: () => undefined,
    });
    return applied.map((m) => m.name);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    client.release();
  }
}

/**
 * Schemas migrated before node-pg-migrate kept their ledgers as tables of
 * (name 'NNN_x.sql', applied_at): `schema_migrations` for the read models and
 * `command_schema_migrations` for the command side. Their entries move to the new ledger once,
 * so nothing is applied twice.
 */
async function adoptOldLedger(client: pg.PoolClient, schema: string, ledger: string): Promise<void> {
  const old = OLD_LEDGERS[ledger];
  if (!old) return;
  const s = quoteIdent(schema);
  const { rows } = await client.query<{ old: boolean; current: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS old, to_regclass($2) IS NOT NULL AS current`,
    [`${s}.${quoteIdent(old)}`, `${s}.${quoteIdent(ledger)}`],
  );
  if (!rows[0]?.old || rows[0].current) return;
  await transactionOn(client, async () => {
    await client.query(
      `CREATE TABLE ${s}.${quoteIdent(ledger)} (id serial PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)`,
    );
    await client.query(
      `INSERT INTO ${s}.${quoteIdent(ledger)} (name, run_on)
       SELECT regexp_replace(name, '\\.sql$', ''), applied_at FROM ${s}.${quoteIdent(old)} ORDER BY name`,
    );
    await client.query(`DROP TABLE ${s}.${quoteIdent(old)}`);
  });
}

const OLD_LEDGERS: Record<string, string> = {
  read_model_migrations: 'schema_migrations',
  command_migrations: 'command_schema_migrations',
};
