import type { Admin, Consumer, Kafka } from 'kafkajs';
import type pg from 'pg';
import { createPgPool, foreignLogReason, type Logger, type PlatformConfig, type ReadModelControl, type ControlState } from '@chat/platform';
import type { EventCodec } from '@chat/schemas';
import { checkpoints } from '../adapters/pg-checkpoints.ts';
import { bindToCluster } from '../adapters/cluster-guard.ts';
import type { DeadLetterSink } from '../adapters/dead-letter-topic.ts';
import { migrate } from '../adapters/migrate.ts';
import type { RedisPublisher } from '../adapters/redis-publisher.ts';
import { FINISH_TIMEOUT_MS, runProjector, type Projections, type RunningProjector } from './consume.ts';

// The live projector, following the read-model control: it projects into the active schema,
// stops (finishing its batch) while a rebuild or rollback pauses the world for its last
// catch-up, and resumes into whichever schema is active then, from that schema's checkpoints.
// It reports what it does every few seconds, so a rebuild knows when every live instance paused.

export interface LiveProjectorDeps {
  kafka: Kafka;
  config: PlatformConfig;
  codec: EventCodec;
  publisher: RedisPublisher;
  deadLetters: DeadLetterSink;
  control: ReadModelControl;
  logId: string;
  projections: Projections;
  sessionTimeoutMs: number;
  log: Logger;
}

const REPORT_EVERY_MS = 2000;

export class LiveProjector {
  private readonly deps: LiveProjectorDeps;
  private readonly instanceId = crypto.randomUUID();
  private running: { schema: string; consumer: Consumer; pool: pg.Pool; joined: boolean; projector?: RunningProjector } | undefined;
  private phase: ControlState['phase'] = 'serving';
  private schema: string;
  private reporter: NodeJS.Timeout | undefined;
  private swapped = false;
  /** The active schema's read models came from another Kafka cluster: nothing is projected into them. */
  private foreign: { schema: string; builtFrom: string } | undefined;

  constructor(deps: LiveProjectorDeps) {
    this.deps = deps;
    this.schema = deps.config.pgSchema;
  }

  /** Paused on purpose: a rebuild or rollback holds every projector for its last events. */
  get paused(): boolean {
    return this.phase === 'paused';
  }

  /**
   * No partition stopped for an operator (a log holding less than was read from it, or a
   * revision conflict: see runProjector), the cluster answering is the one it started with,
   * and the one the active read models were built from.
   */
  get logIntact(): boolean {
    return !this.swapped && this.foreign === undefined && (this.running?.projector?.halted.size ?? 0) === 0;
  }

  /** Another Kafka cluster answers (see ClusterWatch): nothing more is projected, in any schema, until a restart. */
  haltAll(): void {
    this.swapped = true;
    this.running?.projector?.haltAll();
  }

  /** The pool of the read models being projected into; none while paused or stopped. */
  get activePool(): pg.Pool | undefined {
    return this.running?.pool;
  }

  /** Projecting (joined its group), or paused on purpose. */
  get ready(): boolean {
    return this.phase === 'paused' || this.running?.joined === true;
  }

  /**
   * How many records of the projected topics lie past the active schema's checkpoints, over
   * every partition (whichever instance owns it): how far the read models trail the log. Every
   * record is written in a transaction, whose commit marker takes the offset after it: a
   * partition projected to its end is one past its checkpoint, so one offset per partition is
   * not counted (a partition one record behind counts as caught up).
   */
  async behind(admin: Admin): Promise<number> {
    if (!this.running) throw new Error('not projecting');
    let total = 0;
    for (const { high, checkpoint } of await this.logEnds(this.running.pool, admin)) total += Math.max(0, Number(high - checkpoint) - 1);
    return total;
  }

  /** Every partition of the projected topics: its log's end (high watermark) and the active schema's checkpoint. */
  private async logEnds(pool: pg.Pool, admin: Admin): Promise<{ topic: string; partition: number; high: bigint; checkpoint: bigint }[]> {
    const done = await checkpoints(pool);
    const ends = [];
    for (const topic of Object.keys(this.deps.projections)) {
      for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
        ends.push({ topic, partition, high: BigInt(high), checkpoint: done.get(`${topic}:${partition}`) ?? 0n });
      }
    }
    return ends;
  }

  /**
   * Stops every partition whose log now ends below its checkpoint: a topic made again, or a
   * log that lost records, holds less than the read models were built from. A batch shows it
   * too (consume.ts), but an emptied log may send none for a long time. Run every few seconds.
   */
  async checkLogEnds(admin: Admin): Promise<void> {
    const running = this.running;
    if (!running?.projector) return;
    for (const { topic, partition, high, checkpoint } of await this.logEnds(running.pool, admin)) {
      if (high < checkpoint) running.projector.haltShrunk(topic, partition, high, checkpoint);
    }
  }

  /** Starts following the control row; resolves once the first state is applied. Returns how to stop. */
  async follow(): Promise<() => Promise<void>> {
    const { control, log } = this.deps;
    const stopWatching = await control.watch((state) => this.apply(state), log);
    this.reporter = setInterval(() => {
      control
        .report(this.instanceId, this.phase, this.schema)
        .catch((error: unknown) => log.warn('cannot report projector state', { error }));
    }, REPORT_EVERY_MS);
    return async () => {
      clearInterval(this.reporter);
      await stopWatching();
      await this.stop();
      await control.forget(this.instanceId).catch(() => undefined);
    };
  }

  private async apply(state: ControlState): Promise<void> {
    if (state.phase === 'paused') {
      if (this.running) this.deps.log.info('pausing for a read-model switch', { schema: this.running.schema });
      await this.stop();
    } else if (this.running?.schema !== state.active && this.foreign?.schema !== state.active) {
      await this.stop();
      await this.start(state.active);
    }
    this.phase = state.phase;
    this.schema = state.active;
    await this.deps.control.report(this.instanceId, this.phase, this.schema);
  }

  private async start(schema: string): Promise<void> {
    const { kafka, config, codec, publisher, deadLetters, logId, projections, sessionTimeoutMs, log } = this.deps;
    const pool = createPgPool({ ...config, pgSchema: schema }, 6, { pipeline: true });
    const applied = await migrate(pool, schema);
    if (applied.length > 0) log.info('migrated', { schema, applied });
    // The deployment's log first: a schema new to a swapped log would otherwise bind to it.
    const followed = await this.deps.control.followedCluster(logId);
    const binding = followed === logId ? await bindToCluster(pool, logId) : { outcome: 'other' as const, builtFrom: followed };
    this.foreign = binding.outcome === 'other' ? { schema, builtFrom: binding.builtFrom } : undefined;
    if (binding.outcome === 'other') {
      await pool.end();
      log.error(foreignLogReason(binding.builtFrom, logId), { schema });
      return;
    }
    // The session timeout bounds how long a crashed projector's partitions wait for a new owner.
    // A short fetch wait: stopping (for a read-model switch) waits for the fetch in flight.
    const groupId = `${config.topicPrefix}projector`;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 500,
    });
    const running: NonNullable<LiveProjector['running']> = { schema, consumer, pool, joined: false };
    consumer.on(consumer.events.GROUP_JOIN, () => {
      running.joined = true;
    });
    await consumer.connect();
    running.projector = await runProjector({ consumer, pool, codec, publisher, deadLetters, log, group: groupId }, projections);
    if (this.swapped) running.projector.haltAll();
    this.running = running;
    log.info('projecting', { topics: Object.keys(projections), schema });
  }

  /** Stops consuming once the batches handed over are committed (or, Postgres away, given up after FINISH_TIMEOUT_MS). */
  private async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    await running.consumer.disconnect();
    await running.projector?.finish(FINISH_TIMEOUT_MS);
    await running.pool.end();
  }
}
