import type pg from 'pg';

/** Next offset to apply per `topic:partition`, as the pool's schema has it (projection_checkpoints). */
export async function checkpoints(pool: pg.Pool): Promise<Map<string, bigint>> {
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: string }>(
    'SELECT topic, partition, next_offset FROM projection_checkpoints',
  );
  return new Map(rows.map((r) => [`${r.topic}:${r.partition}`, BigInt(r.next_offset)]));
}
