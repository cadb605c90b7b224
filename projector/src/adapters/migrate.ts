import type pg from 'pg';
import { migrate as applyMigrations } from '@chat/platform';

// The read models' migrations: projector/migrations/*.sql, ledger `read_model_migrations`.
export function migrate(pool: pg.Pool, schema: string): Promise<string[]> {
  return applyMigrations(pool, schema, { dir: new URL('../../migrations/', import.meta.url), ledger: 'read_model_migrations' });
}
