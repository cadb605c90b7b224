import type pg from 'pg';
import { inTransaction } from '@chat/platform';
import type { WriterClaims } from '../app/partition-owner.ts';

// The writer record of each partition (see migrations/002_partition_writers.sql).

export class PgWriterClaims implements WriterClaims {
  private readonly pool: pg.Pool;
  private readonly topic: string;

  constructor(pool: pg.Pool, topic: string) {
    this.pool = pool;
    this.topic = topic;
  }

  async claim(partition: number, transactionalId: string): Promise<string | undefined> {
    return inTransaction(this.pool, async (client) => {
      // The row exists before the swap, so two first claims cannot both miss each other.
      await client.query(
        `INSERT INTO command_partition_writers (topic, partition, transactional_id) VALUES ($1, $2, '') ON CONFLICT DO NOTHING`,
        [this.topic, partition],
      );
      const { rows } = await client.query<{ transactional_id: string }>(
        'SELECT transactional_id FROM command_partition_writers WHERE topic = $1 AND partition = $2 FOR UPDATE',
        [this.topic, partition],
      );
      await client.query(
        'UPDATE command_partition_writers SET transactional_id = $3, claimed_at = now() WHERE topic = $1 AND partition = $2',
        [this.topic, partition, transactionalId],
      );
      return rows[0]?.transactional_id || undefined;
    });
  }

  async renew(partition: number, from: readonly string[], to: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE command_partition_writers SET transactional_id = $3, claimed_at = now()
        WHERE topic = $1 AND partition = $2 AND transactional_id = ANY($4::text[])`,
      [this.topic, partition, to, [...from, to]],
    );
    return rowCount === 1;
  }
}
