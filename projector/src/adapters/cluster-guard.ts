import type pg from 'pg';
import { inTransaction, quoteIdent, type Logger } from '@chat/platform';

// Checkpoints are Kafka offsets, which only mean something in the cluster that issued them.
// When the read models were built from another cluster (a wiped broker, a new environment
// pointed at an old database), they are emptied and rebuilt from this cluster's topics:
// they are disposable, and skipping events because of a stale checkpoint is not.

// Migration ledgers stay (the tables they describe stay too), and so does the read-model
// control (it names schemas, not offsets); command snapshots carry their own cluster id.
const KEEP = [
  'read_model_migrations',
  'command_migrations',
  'projection_meta',
  'read_model_control',
  'read_model_projectors',
  'read_model_control_migrations',
];

export async function bindToCluster(pool: pg.Pool, schema: string, clusterId: string, log: Logger): Promise<'new' | 'same' | 'reset'> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<{ value: string }>("SELECT value FROM projection_meta WHERE key = 'kafka_cluster_id' FOR UPDATE");
    const known = rows[0]?.value;
    const outcome: 'new' | 'same' | 'reset' = known === undefined ? 'new' : known === clusterId ? 'same' : 'reset';
    if (outcome === 'reset') {
      const tables = await client.query<{ tablename: string }>(
        // auth_*: accounts, sessions and keys are the command side's own records, not built from the log.
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND NOT (tablename = ANY($2) OR tablename LIKE 'auth\\_%')",
        [schema, KEEP],
      );
      if (tables.rows.length > 0) {
        await client.query(`TRUNCATE ${tables.rows.map((t) => quoteIdent(t.tablename)).join(', ')}`);
      }
      log.warn('read models were built from another Kafka cluster; emptied them to rebuild from this one', { was: known, now: clusterId });
    }
    if (outcome !== 'same') {
      await client.query(
        `INSERT INTO projection_meta (key, value) VALUES ('kafka_cluster_id', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [clusterId],
      );
    }
    return outcome;
  });
}
