import type pg from 'pg';
import { inTransaction, sameLog } from '@chat/platform';

// Checkpoints are Kafka offsets, which only mean something in the log that issued them: the
// cluster and its topics (see log-identity.ts; the values here are that identity).
// Read models built from another cluster (a wiped broker, a fail-over, a new environment
// pointed at an old database) are neither projected further nor emptied here: what they hold
// may be the last copy of a lost log. They wait for an operator: `./chat rebuild --new-log`
// builds read models from this cluster's log beside them and switches to those, or the
// brokers are pointed back at the cluster they came from.

export type ClusterBinding = { outcome: 'new' | 'same' } | { outcome: 'other'; builtFrom: string };

/** Ties a schema's read models to `logId` when they are new; says whether they came from another cluster. */
export async function bindToCluster(pool: pg.Pool, logId: string): Promise<ClusterBinding> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<{ value: string }>("SELECT value FROM projection_meta WHERE key = 'kafka_cluster_id' FOR UPDATE");
    const known = rows[0]?.value;
    if (known === logId) return { outcome: 'same' };
    if (known !== undefined && sameLog(known, logId)) {
      // Recorded before topic ids were (see log-identity.ts): the whole identity from now on.
      await client.query("UPDATE projection_meta SET value = $1 WHERE key = 'kafka_cluster_id'", [logId]);
      return { outcome: 'same' };
    }
    if (known !== undefined) return { outcome: 'other', builtFrom: known };
    await client.query("INSERT INTO projection_meta (key, value) VALUES ('kafka_cluster_id', $1)", [logId]);
    return { outcome: 'new' };
  });
}

/** The cluster a schema's read models were built from, if any. */
export async function boundCluster(pool: pg.Pool): Promise<string | undefined> {
  const { rows } = await pool.query<{ value: string }>("SELECT value FROM projection_meta WHERE key = 'kafka_cluster_id'");
  return rows[0]?.value;
}
