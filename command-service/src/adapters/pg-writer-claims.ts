import type pg from 'pg';
import { inTransaction } from '@chat/platform';
import type { WriterClaims } from '../app/partition-owner.ts';

// The writer record of each partition (see migrations/002_partition_writers.sql and
// 006_writers_to_fence.sql).

export class PgWriterClaims implements WriterClaims {
  private readonly pool: pg.Pool;
  private readonly topic: string;

  constructor(pool: pg.Pool, topic: string) {
    this.pool = pool;
    this.topic = topic;
  }

  async claim(partition: number, transactionalId: string): Promise<string[]> {
    return inTransaction(this.pool, async (client) => {
      // The row exists before the swap, so two first claims cannot both miss each other.
      await client.query(
        `INSERT INTO command_partition_writers (topic, partition, transactional_id) VALUES ($1, $2, '') ON CONFLICT DO NOTHING`,
        [this.topic, partition],
      );
      const { rows } = await client.query<{ transactional_id: string; to_fence: string[] }>(
        'SELECT transactional_id, to_fence FROM command_partition_writers WHERE topic = $1 AND partition = $2 FOR UPDATE',
        [this.topic, partition],
      );
      const { transactional_id: replaced, to_fence: unfenced } = rows[0]!;
      const toFence = [...new Set([...unfenced, replaced])].filter((id) => id !== '' && id !== transactionalId);
      await client.query(
        'UPDATE command_partition_writers SET transactional_id = $3, to_fence = $4, claimed_at = now() WHERE topic = $1 AND partition = $2',
        [this.topic, partition, transactionalId, toFence],
      );
      return toFence;
    });
  }

  async renew(partition: number, from: readonly string[], to: string): Promise<string[] | undefined> {
    const { rows } = await this.pool.query<{ to_fence: string[] }>(
      `UPDATE command_partition_writers SET transactional_id = $3, claimed_at = now()
        WHERE topic = $1 AND partition = $2 AND transactional_id = ANY($4::text[]) RETURNING to_fence`,
      [this.topic, partition, to, [...from, to]],
    );
    return rows[0]?.to_fence;
  }

  async fenced(partition: number, holder: string, ids: readonly string[]): Promise<void> {
    await this.pool.query(
      `UPDATE command_partition_writers SET to_fence = ARRAY(SELECT unnest(to_fence) EXCEPT SELECT unnest($4::text[]))
        WHERE topic = $1 AND partition = $2 AND transactional_id = $3`,
      [this.topic, partition, holder, ids],
    );
  }
}
