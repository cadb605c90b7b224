import type pg from 'pg';
import { SNAPSHOT_FORMAT, type PartitionSnapshot } from '../app/partition-state.ts';

// Snapshots of the command side's partition state in Postgres. A snapshot only ever moves
// forward: a fenced owner that writes late cannot replace a newer one with an older one
// (an older snapshot is still true of its offset, just less useful).

export class PgSnapshots {
  private readonly pool: pg.Pool;
  private readonly topic: string;
  private readonly logId: string;

  constructor(pool: pg.Pool, topic: string, logId: string) {
    this.pool = pool;
    this.topic = topic;
    this.logId = logId;
  }

  async load(partition: number): Promise<PartitionSnapshot | undefined> {
    const { rows } = await this.pool.query<{ state: string }>(
      'SELECT state FROM command_snapshots WHERE topic = $1 AND partition = $2 AND kafka_cluster_id = $3',
      [this.topic, partition, this.logId],
    );
    const snapshot = rows[0] ? (JSON.parse(rows[0].state) as PartitionSnapshot) : undefined;
    // Written by an older version in another shape: fold the log instead.
    return snapshot?.format === SNAPSHOT_FORMAT ? snapshot : undefined;
  }

  async save(partition: number, snapshot: PartitionSnapshot): Promise<void> {
    await this.pool.query(
      // The state stays text: its keys hold NUL, which jsonb refuses.
      `INSERT INTO command_snapshots (topic, partition, next_offset, kafka_cluster_id, format, state) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset, kafka_cluster_id = excluded.kafka_cluster_id,
         format = excluded.format, state = excluded.state, taken_at = now()
       WHERE command_snapshots.next_offset < excluded.next_offset OR command_snapshots.kafka_cluster_id <> excluded.kafka_cluster_id
          OR command_snapshots.format IS DISTINCT FROM excluded.format`,
      [this.topic, partition, snapshot.nextOffset, this.logId, snapshot.format, JSON.stringify(snapshot)],
    );
  }
}
