import type pg from 'pg';
import { ContentIntegrityError, QueryFlight, inTransaction } from '@chat/platform';
import type { EventCodec } from '@chat/schemas';
import type { LiveNotification } from '@chat/schemas';
import { isDataError } from '../adapters/pg-projection.ts';
import type { Projections } from './consume.ts';

// Dead letters after a fix: each record set aside is decoded and applied again, one at a time,
// each in a transaction of its own that also marks it resolved, so a letter applies once
// however often retry runs. One that fails again stays, with its retry count and new reason.

export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

export interface Letter extends Position {
  error: string;
  recordedAt: Date;
  retries: number;
  lastRetryError: string | null;
  resolvedAt: Date | null;
}

export interface RedriveReport {
  resolved: Position[];
  failed: (Position & { error: string })[];
  /** What the resolved letters changed, for live subscribers. */
  notifications: LiveNotification[];
}

export async function listLetters(pool: pg.Pool, { includeResolved = false } = {}): Promise<Letter[]> {
  const { rows } = await pool.query<Letter>(
    `SELECT topic, partition, "offset"::text AS "offset", error, recorded_at AS "recordedAt", retries,
            last_retry_error AS "lastRetryError", resolved_at AS "resolvedAt"
       FROM dead_letters WHERE $1 OR resolved_at IS NULL ORDER BY topic, partition, "offset"`,
    [includeResolved],
  );
  return rows;
}

/** Re-drives the unresolved letters at `positions`, or all of them. */
export async function redrive(
  pool: pg.Pool,
  codec: EventCodec,
  projections: Projections,
  positions: readonly Position[] | 'all',
  keepWaiting: () => Promise<boolean>,
): Promise<RedriveReport> {
  const targets = positions === 'all' ? await listLetters(pool) : positions;
  const report: RedriveReport = { resolved: [], failed: [], notifications: [] };
  for (const { topic, partition, offset } of targets) {
    const position = { topic, partition, offset };
    const outcome = await inTransaction(pool, (client) => redriveOne(client, codec, projections, position, keepWaiting));
    if (outcome === undefined) continue;
    if ('error' in outcome) report.failed.push({ ...position, error: outcome.error });
    else {
      report.resolved.push(position);
      report.notifications.push(...outcome.notifications);
    }
  }
  return report;
}

async function redriveOne(
  client: pg.PoolClient,
  codec: EventCodec,
  projections: Projections,
  { topic, partition, offset }: Position,
  keepWaiting: () => Promise<boolean>,
): Promise<{ notifications: LiveNotification[] } | { error: string } | undefined> {
  const where = 'topic = $1 AND partition = $2 AND "offset" = $3';
  const { rows } = await client.query<{ key: string | null; value: Buffer | null }>(
    `SELECT key, value FROM dead_letters WHERE ${where} AND resolved_at IS NULL FOR UPDATE`,
    [topic, partition, offset],
  );
  const letter = rows[0];
  if (!letter) return undefined; // resolved meanwhile, or never there
  const failed = async (error: string) => {
    await client.query(`UPDATE dead_letters SET retries = retries + 1, last_retry_error = $4 WHERE ${where}`, [
      topic,
      partition,
      offset,
      error,
    ]);
    return { error };
  };
  const applier = projections[topic];
  if (!applier) return failed(`no projection reads ${topic}`);
  const decoded = await codec.decodeRecord(letter.value, keepWaiting);
  if ('undecodable' in decoded) return failed(`undecodable: ${decoded.undecodable}`);
  const [event] = await codec.openSealed([decoded.event]).catch((error: unknown) => {
    if (error instanceof ContentIntegrityError) return [undefined];
    throw error;
  });
  if (!event) return failed('sealed content cannot be opened (see the projector log)');
  await client.query('SAVEPOINT redrive');
  try {
    const flight = new QueryFlight(client);
    const applied = await applier(flight, topic, [{ partition, offset, event, ...letter }], { redrive: true });
    await flight.landed();
    await client.query(`UPDATE dead_letters SET resolved_at = now(), retries = retries + 1 WHERE ${where}`, [topic, partition, offset]);
    return { notifications: applied.notifications };
  } catch (error) {
    if (!isDataError(error)) throw error;
    await client.query('ROLLBACK TO SAVEPOINT redrive');
    return failed(`not applicable: ${(error as Error).message}`);
  }
}
