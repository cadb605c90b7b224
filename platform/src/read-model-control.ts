import pg from 'pg';
import { createPgPool, quoteIdent } from './clients.ts';
import type { PlatformConfig } from './config.ts';
import type { Logger } from './log.ts';
import { migrate } from './migrate.ts';
import { describeLogChange, sameLog } from './log-identity.ts';
import { inTransaction } from './transaction.ts';
import { sleep } from './wait.ts';

// Where the read models are. They live in a schema of their own generation: at first the
// configured schema itself, after `./chat rebuild` a new one. The control row, in the
// configured (base) schema, names the active one; a change is announced on a Postgres channel,
// so every service follows it at once and without a restart.

export interface ControlState {
  active: string;
  previous: string | null;
  phase: 'serving' | 'paused';
  generation: number;
}

const CHANNEL = 'chat_read_model_control';
const POOL_DRAIN_MS = 10_000;

export class ReadModelControl {
  private readonly config: PlatformConfig;
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly projectorsTable: string;

  constructor(config: PlatformConfig) {
    this.config = config;
    this.pool = createPgPool(config, 2);
    this.table = `${quoteIdent(config.pgSchema)}.read_model_control`;
    this.projectorsTable = `${quoteIdent(config.pgSchema)}.read_model_projectors`;
  }

  /** Creates the control tables where missing; the first state names the base schema. */
  async ensure(): Promise<ControlState> {
    await migrate(this.pool, this.config.pgSchema, {
      dir: new URL('../control-migrations/', import.meta.url),
      ledger: 'read_model_control_migrations',
    });
    await this.pool.query(`INSERT INTO ${this.table} (active) VALUES ($1) ON CONFLICT DO NOTHING`, [this.config.pgSchema]);
    return this.state();
  }

  /** Resolves while the control row's Postgres answers: for readiness. */
  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async state(): Promise<ControlState> {
    const { rows } = await this.pool.query<ControlState>(`SELECT active, previous, phase, generation FROM ${this.table}`);
    return rows[0] ?? { active: this.config.pgSchema, previous: null, phase: 'serving', generation: 0 };
  }

  /**
   * Sets the state and tells every listener, in one transaction. With `logCluster`, the
   * deployment follows that Kafka cluster's log from now on (`./chat rebuild --new-log`).
   */
  async set(next: ControlState, logCluster?: string): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query(
        `UPDATE ${this.table} SET active = $1, previous = $2, phase = $3, generation = $4, log_cluster = COALESCE($5, log_cluster), updated_at = now()`,
        [next.active, next.previous, next.phase, next.generation, logCluster ?? null],
      );
      await client.query('SELECT pg_notify($1, $2)', [CHANNEL, this.config.pgSchema]);
    });
  }

  /**
   * The event log this deployment follows (see 002_log_cluster.sql and log-identity.ts);
   * `answering`, the one the caller reached, becomes it when the deployment follows none yet.
   */
  async followedCluster(answering: string): Promise<string> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ active: string; log_cluster: string | null }>(
        `SELECT active, log_cluster FROM ${this.table} FOR UPDATE`,
      );
      const row = rows[0];
      if (!row) throw new Error('the read-model control row is missing: ensure() first');
      if (row.log_cluster !== null && row.log_cluster !== answering && sameLog(row.log_cluster, answering)) {
        // Recorded before topic ids were: the whole identity from now on.
        await client.query(`UPDATE ${this.table} SET log_cluster = $1`, [answering]);
        return answering;
      }
      if (row.log_cluster !== null) return row.log_cluster;
      // Older deployments: the active read models record the cluster they were built from.
      const meta = `${quoteIdent(row.active)}.projection_meta`;
      const { rows: exists } = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [meta]);
      const builtFrom = exists[0]?.found
        ? (await client.query<{ value: string }>(`SELECT value FROM ${meta} WHERE key = 'kafka_cluster_id'`)).rows[0]?.value
        : undefined;
      const followed = builtFrom !== undefined && !sameLog(builtFrom, answering) ? builtFrom : answering;
      await client.query(`UPDATE ${this.table} SET log_cluster = $1`, [followed]);
      return followed;
    });
  }

  /**
   * Calls `onChange` with the state now, then after every change (and after a lost listening
   * connection came back, since a change may have been missed). Calls never overlap.
   */
  async watch(onChange: (state: ControlState) => Promise<void> | void, log: Logger): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    let chain: Promise<void> = Promise.resolve();
    const changed = () => {
      chain = chain
        .then(async () => onChange(await this.state()))
        .catch((error: unknown) => log.error('following the read-model control failed', { error }));
    };
    const listen = async (): Promise<void> => {
      while (!stopped) {
        try {
          const next = new pg.Client({ connectionString: this.config.databaseUrl });
          next.on('notification', (message) => {
            if (message.payload === this.config.pgSchema) changed();
          });
          next.on('error', () => {
            if (client === next) client = undefined;
            void next.end().catch(() => undefined);
            if (!stopped) void listen();
          });
          await next.connect();
          await next.query(`LISTEN ${CHANNEL}`);
          client = next;
          changed();
          return;
        } catch (error) {
          log.warn('cannot listen for read-model switches; retrying', { error });
          await sleep(1000);
        }
      }
    };
    await listen();
    await chain; // the state now is applied before watch() returns
    return async () => {
      stopped = true;
      await client?.end().catch(() => undefined);
      await chain;
    };
  }

  /** A projector instance reports what it is doing (and that it is alive). */
  async report(instanceId: string, phase: ControlState['phase'], schema: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.projectorsTable} (instance_id, phase, schema_name) VALUES ($1, $2, $3)
       ON CONFLICT (instance_id) DO UPDATE SET phase = excluded.phase, schema_name = excluded.schema_name, seen_at = now()`,
      [instanceId, phase, schema],
    );
  }

  async forget(instanceId: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.projectorsTable} WHERE instance_id = $1`, [instanceId]);
  }

  /** Live projector instances (seen within `aliveMs`) and what each is doing. */
  async projectors(aliveMs: number): Promise<{ instanceId: string; phase: string; schema: string }[]> {
    const { rows } = await this.pool.query<{ instanceId: string; phase: string; schema: string }>(
      `SELECT instance_id AS "instanceId", phase, schema_name AS schema FROM ${this.projectorsTable}
        WHERE seen_at > now() - make_interval(secs => $1::float8 / 1000)`,
      [aliveMs],
    );
    return rows;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * A pool over the active read-model schema that moves with it: queries go to the current
 * schema's pool; a switch opens the next one and lets the old one finish what it runs.
 */
export class ReadModelPool {
  private readonly config: PlatformConfig;
  private readonly max: number;
  private current: { schema: string; pool: pg.Pool };

  constructor(config: PlatformConfig, schema: string, max = 10) {
    this.config = config;
    this.max = max;
    this.current = { schema, pool: createPgPool({ ...config, pgSchema: schema }, max) };
  }

  get schema(): string {
    return this.current.schema;
  }

  readonly query: pg.Pool['query'] = ((...args: Parameters<pg.Pool['query']>) =>
    (this.current.pool.query as (...a: unknown[]) => unknown)(...args)) as pg.Pool['query'];

  async switchTo(schema: string): Promise<void> {
    if (schema === this.current.schema) return;
    const old = this.current.pool;
    this.current = { schema, pool: createPgPool({ ...this.config, pgSchema: schema }, this.max) };
    // Queries already handed to the old pool may still be waiting for a connection of it.
    setTimeout(() => void old.end().catch(() => undefined), POOL_DRAIN_MS).unref();
  }

  async end(): Promise<void> {
    await this.current.pool.end();
  }
}

/** A pool on the active read models that follows every switch, for services that only read them. */
export async function followReadModels(
  config: PlatformConfig,
  log: Logger,
  max = 10,
): Promise<{ pool: ReadModelPool; stop: () => Promise<void> }> {
  const control = new ReadModelControl(config);
  const pool = new ReadModelPool(config, (await control.ensure()).active, max);
  const stopWatching = await control.watch(async (state) => {
    if (state.phase !== 'serving' || state.active === pool.schema) return;
    await pool.switchTo(state.active);
    log.info('reading the read models from another schema now', { schema: state.active, generation: state.generation });
  }, log);
  return {
    pool,
    stop: async () => {
      await stopWatching();
      await control.close();
      await pool.end();
    },
  };
}

/**
 * Why a service must not decide or project: the deployment follows another Kafka cluster's log
 * than the one answering (a broker back with empty storage, a fail-over). Undefined when it is
 * the same. Services check at start; ClusterWatch checks while they run.
 */
export async function foreignLog(config: PlatformConfig, answering: string): Promise<string | undefined> {
  const control = new ReadModelControl(config);
  try {
    await control.ensure();
    const followed = await control.followedCluster(answering);
    return followed === answering ? undefined : foreignLogReason(followed, answering);
  } finally {
    await control.close();
  }
}

/** What an operator reads when the log answering is not the one the deployment follows. */
export function foreignLogReason(followed: string, answering: string): string {
  return (
    `this deployment follows another event log than the one answering (${describeLogChange(followed, answering)}; ` +
    `followed: ${followed}, answering: ${answering}): nothing is decided or projected until an operator acts: ` +
    '`./chat rebuild --new-log` adopts the log answering (read models rebuilt from it; then restart the services that ' +
    'still report event-log down), or point KAFKA_BROKERS back at the old cluster'
  );
}
