import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, loadConfig, quoteIdent } from '@chat/platform';
import { migrate } from '../../projector/src/adapters/migrate.ts';
import { ReadModels } from '../src/adapters/read-models.ts';

// A page of history is an index range scan on (room_id, sequence) in either direction: no
// sequential scan, no sort, however long the room's history. The statements explained are the
// ones the query service really sends (captured from ReadModels), over 40,000 messages in 40 rooms.

const pgSchema = `t_history_plan_${Date.now().toString(36)}`;
const config = { ...loadConfig(), pgSchema };
const ROOM = '00000000-0000-4000-8000-000000000007';

class CapturingPool extends pg.Pool {
  last: { text: string; values: unknown[] } | undefined;
  override query(...args: unknown[]): never {
    this.last = { text: args[0] as string, values: args[1] as unknown[] };
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

let pool: pg.Pool;
let capturing: CapturingPool;

beforeAll(async () => {
  pool = createPgPool(config, 2);
  await migrate(pool, pgSchema);
  await pool.query(`INSERT INTO rooms (room_id, name, created_by, created_at, last_activity_at, last_sequence)
    SELECT ('00000000-0000-4000-8000-' || lpad(r::text, 12, '0'))::uuid, 'room ' || r, 'u', now(), now(), 1000 FROM generate_series(1, 40) r`);
  await pool.query(`INSERT INTO messages (room_id, sequence, message_id, sender_id, client_message_id, body, sent_at, event_id, revision)
    SELECT ('00000000-0000-4000-8000-' || lpad(r::text, 12, '0'))::uuid, s, gen_random_uuid(), 'u', r || '-' || s, 'message ' || s, now(),
           gen_random_uuid(), s
      FROM generate_series(1, 40) r, generate_series(1, 1000) s`);
  await pool.query('ANALYZE');
  capturing = new CapturingPool({ connectionString: config.databaseUrl, options: `-c search_path=${quoteIdent(pgSchema)}`, max: 1 });
});

afterAll(async () => {
  await capturing?.end();
  await pool?.query(`DROP SCHEMA IF EXISTS ${quoteIdent(pgSchema)} CASCADE`);
  await pool?.end();
});

/** The plan of the statement a ReadModels call just sent, as Postgres' JSON plan tree flattened to node types. */
async function planOf(read: (models: ReadModels) => Promise<unknown>): Promise<{ nodes: string[]; index?: string; direction?: string }> {
  await read(new ReadModels(capturing));
  const { text, values } = capturing.last!;
  const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${text}`, values);
  const nodes: PlanNode[] = [];
  const walk = (node: PlanNode) => {
    nodes.push(node);
    node.Plans?.forEach(walk);
  };
  walk(rows[0]!['QUERY PLAN'][0].Plan);
  const scan = nodes.find((n) => n['Index Name']);
  return { nodes: nodes.map((n) => n['Node Type']), index: scan?.['Index Name'], direction: scan?.['Scan Direction'] };
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Scan Direction'?: string;
  Plans?: PlanNode[];
}

describe('a page of history', () => {
  it('reads forward from a cursor by an index range scan', async () => {
    const plan = await planOf((m) => m.messagesAfter(ROOM, 500, 50));
    expect(plan).toEqual({ nodes: ['Limit', 'Index Scan'], index: 'messages_pkey', direction: 'Forward' });
  });

  it('reads backward from a cursor, and the newest page, by the same index backwards', async () => {
    for (const before of [500, null]) {
      const plan = await planOf((m) => m.messagesBefore(ROOM, before, 50));
      expect(plan).toEqual({ nodes: ['Limit', 'Index Scan'], index: 'messages_pkey', direction: 'Backward' });
    }
  });
});
