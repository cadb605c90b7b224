import type { Consumer, Kafka } from 'kafkajs';
import pg from 'pg';
import {
  createPgPool,
  foreignLogReason,
  quoteIdent,
  sameLog,
  sleep,
  topicName,
  type ControlState,
  type Logger,
  type PlatformConfig,
  type ReadModelControl,
} from '@chat/platform';
import { checkpoints } from '../adapters/pg-checkpoints.ts';
import type { EventCodec } from '@chat/schemas';
import { bindToCluster, boundCluster } from '../adapters/cluster-guard.ts';
import { migrate } from '../adapters/migrate.ts';
import { createIndexes, dropSecondaryIndexes } from '../adapters/pg-deferred-indexes.ts';
import { comparedTables, tableHashes, type TableHash } from '../adapters/pg-parity.ts';
import { FINISH_TIMEOUT_MS, runProjector, type Projections, type RunningProjector } from './consume.ts';

// Replay without downtime. A rebuild projects the whole log from offset zero into a new schema
// while the active one goes on serving, never getting ahead of it (each partition is capped at
// the active schema's checkpoint, user events before room events so mentions resolve alike).
// Near the live edge it pauses the live projectors (queries and subscriptions go on; live
// delivery waits a moment), takes the last few events, and compares row hashes with the now
// still active schema at the same checkpoints. Equal: every service switches to the new schema
// and the projectors resume there; the old one is kept for a rollback, which is the same walk
// towards the previous schema (it catches up from its own checkpoints). Not equal: nothing
// switches, and the tables that differ are named.

export interface RebuildDeps {
  kafka: Kafka;
  config: PlatformConfig;
  codec: EventCodec;
  control: ReadModelControl;
  logId: string;
  projections: Projections;
  log: Logger;
  onProgress: (progress: Progress) => void;
}

export interface Progress {
  stage: 'catching up' | 'creating indexes' | 'paused: last events' | 'comparing';
  done: number;
  total: number;
  /** Null until it is measured (over two seconds of progress). */
  eventsPerSecond: number | null;
  secondsLeft: number | null;
}

export type RebuildOutcome =
  | {
      switched: true;
      from: string;
      to: string;
      generation: number;
      tables: Record<string, TableHash>;
      /** How long live projection stood still, and on what. */
      pausedMs: number;
      pause: { projectorsMs: number; lastEventsMs: number; compareMs: number };
      events: number;
      seconds: number;
      foundInLog: FoundInLog;
    }
  | {
      switched: false;
      from: string;
      to: string;
      differs: { table: string; active: TableHash; rebuilt: TableHash }[];
      foundInLog: FoundInLog;
    };

/**
 * Records of the log that the rebuild could not project, as the live projectors cannot: set
 * aside as dead letters, or revision faults. They do not fail it: row hashes decide the switch.
 */
export interface FoundInLog {
  deadLettered: number;
  faults: number;
}

/** The deployment follows `adopted`'s log now; the read models in `to` fill from its first offset. */
export interface AdoptOutcome {
  adopted: string;
  from: string;
  to: string;
  generation: number;
}

/** Close enough to the live edge to pause the projectors for the rest. */
const PAUSE_WITHIN = 2000;
const PROJECTOR_ALIVE_MS = 10_000;
const PAUSE_ACK_TIMEOUT_MS = 30_000;
const LAST_EVENTS_TIMEOUT_MS = 60_000;
const REBUILD_LOCK = 0x72656275; // "rebu"

/** `rebuild`: the same log again, into a new schema, switched to once equal. `rollback`: back to the schema kept. */
export async function rebuildReadModels(deps: RebuildDeps, mode: 'rebuild' | 'rollback'): Promise<RebuildOutcome> {
  return underRebuildLock(deps, async (state) => {
    // Row hashes against read models of another log would only differ: the operator chooses.
    const followed = await deps.control.followedCluster(deps.logId);
    if (followed !== deps.logId) throw new Error(foreignLogReason(followed, deps.logId));
    const fresh = mode === 'rebuild' ? await freshSchema(deps, state) : undefined;
    const target = fresh?.schema ?? state.previous;
    if (!target) throw new Error('nothing to roll back to: no previous read-model schema is kept');
    // The schema a --new-log left behind holds another log's read models: never walked into.
    const builtFrom = await clusterOfSchema(deps.config, target);
    if (builtFrom !== undefined && !sameLog(builtFrom, deps.logId))
      throw new Error(`${target} was built from another event log (${builtFrom}) than the one answering: nothing to roll back to`);
    return walkTowards(deps, state, target, mode, fresh?.deferredIndexes ?? []);
  });
}

/**
 * The deployment adopts the log of the cluster answering now (after a wiped broker or a
 * fail-over): a new schema, switched to at once, which the live projectors fill from that
 * log's first offset. There is nothing to compare it with; the schema it replaces is kept.
 */
export async function adoptNewLog(deps: RebuildDeps): Promise<AdoptOutcome> {
  return underRebuildLock(deps, async (state) => {
    const followed = await deps.control.followedCluster(deps.logId);
    if (followed === deps.logId)
      throw new Error(`this deployment follows the log answering (${followed}) already: --new-log is for another log`);
    const { schema } = await freshSchema(deps, state, { deferIndexes: false });
    const next: ControlState = { active: schema, previous: state.active, phase: 'serving', generation: state.generation + 1 };
    await deps.control.set(next, deps.logId);
    deps.log.info('the deployment follows the log of the cluster answering now', {
      log: deps.logId,
      from: state.active,
      to: schema,
    });
    return { adopted: deps.logId, from: state.active, to: schema, generation: next.generation };
  });
}

/** One rebuild, rollback or adoption at a time, from a serving state. */
async function underRebuildLock<T>({ config, control, log }: RebuildDeps, work: (state: ControlState) => Promise<T>): Promise<T> {
  const lock = new pg.Client({ connectionString: config.databaseUrl });
  await lock.connect();
  try {
    const { rows } = await lock.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [REBUILD_LOCK]);
    if (!rows[0]?.got) throw new Error('another rebuild or rollback is running');
    let state = await control.ensure();
    if (state.phase === 'paused') {
      log.warn('an earlier rebuild stopped while the projectors were paused; resuming them first');
      state = { ...state, phase: 'serving' };
      await control.set(state);
    }
    return await work(state);
  } finally {
    await lock.end().catch(() => undefined);
  }
}

async function clusterOfSchema(config: PlatformConfig, schema: string): Promise<string | undefined> {
  const pool = createPgPool({ ...config, pgSchema: schema }, 1);
  try {
    return await boundCluster(pool);
  } finally {
    await pool.end();
  }
}

/**
 * A new, empty, migrated schema for the next generation, its secondary indexes deferred unless
 * live projectors fill it; the one before the active is dropped.
 */
async function freshSchema(
  { config, logId }: RebuildDeps,
  state: ControlState,
  { deferIndexes } = { deferIndexes: true },
): Promise<{ schema: string; deferredIndexes: string[] }> {
  const target = `${config.pgSchema}_rm${state.generation + 1}`;
  const pool = createPgPool({ ...config, pgSchema: target }, 2);
  try {
    // Only schemas a rebuild made are ever dropped; the base schema also holds the command side's tables.
    if (state.previous && state.previous !== config.pgSchema && state.previous !== state.active) {
      await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(state.previous)} CASCADE`);
    }
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(target)} CASCADE`);
    await migrate(pool, target);
    await bindToCluster(pool, logId);
    return { schema: target, deferredIndexes: deferIndexes ? await dropSecondaryIndexes(pool, target) : [] };
  } finally {
    await pool.end();
  }
}

async function walkTowards(
  deps: RebuildDeps,
  state: ControlState,
  target: string,
  mode: 'rebuild' | 'rollback',
  deferredIndexes: string[],
): Promise<RebuildOutcome> {
  const { kafka, config, codec, control, projections, log, onProgress } = deps;
  const started = performance.now();
  const active = createPgPool({ ...config, pgSchema: state.active }, 2);
  // Two gathered writes at a time, as the live projector, and connections to spare.
  const pool = createPgPool({ ...config, pgSchema: target }, 6, { pipeline: true });
  const limits = new Map<string, bigint>();
  const userTopic = topicName(config.topicPrefix, 'userEvents');
  let usersLevel = false;
  const cap = (topic: string, partition: number) => (!usersLevel && topic !== userTopic ? 0n : (limits.get(`${topic}:${partition}`) ?? 0n));
  const groupId = `${config.topicPrefix}rebuild.${target}.${Date.now().toString(36)}`;
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: 30_000,
    maxBytesPerPartition: 16 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    // A partition resumed at a raised cap is fetched again only after the fetch in flight.
    maxWaitTimeInMs: 100,
  });
  let paused = false;
  let running: RunningProjector | undefined;
  const foundInLog: FoundInLog = { deadLettered: 0, faults: 0 };
  try {
    await consumer.connect();
    const projector = await runProjector(
      {
        consumer,
        pool,
        codec,
        publisher: { enqueue: () => undefined },
        deadLetters: async () => undefined,
        log,
        live: false,
        cap,
        onProblems: (found) => {
          foundInLog.deadLettered += found.deadLettered;
          foundInLog.faults += found.faults;
        },
      },
      projections,
    );
    running = projector;
    const level = async () => {
      const [want, have] = [await checkpoints(active), await checkpoints(pool)];
      for (const [key, next] of want) limits.set(key, next);
      usersLevel ||= [...want].every(([key, next]) => !key.startsWith(`${userTopic}:`) || (have.get(key) ?? 0n) >= next);
      projector.resumeCapped();
      const behind = [...want].reduce((sum, [key, next]) => sum + Number(next - (have.get(key) ?? 0n)), 0);
      return { behind, done: sum(have), total: sum(want) };
    };
    const meter = rateMeter();

    // Online: up to the live edge, as the active schema moves on.
    for (;;) {
      const now = await level();
      const rate = meter(now.done);
      onProgress({
        stage: 'catching up',
        done: now.done,
        total: now.total,
        eventsPerSecond: rate,
        secondsLeft: rate ? now.behind / rate : null,
      });
      if (now.behind <= PAUSE_WITHIN && deferredIndexes.length === 0) break;
      if (now.behind <= PAUSE_WITHIN) {
        onProgress({ stage: 'creating indexes', done: now.done, total: now.total, eventsPerSecond: 0, secondsLeft: null });
        await createIndexes(pool, deferredIndexes.splice(0));
        continue;
      }
      await sleep(500);
    }

    // Paused: the active schema stands still while the target takes its last events.
    await control.set({ ...state, phase: 'paused' });
    paused = true;
    const pausedAt = performance.now();
    await waitForProjectors(control, 'paused', PAUSE_ACK_TIMEOUT_MS);
    const pauseTook = { projectorsMs: Math.round(performance.now() - pausedAt), lastEventsMs: 0, compareMs: 0 };
    const frozen = await checkpoints(active);
    for (const deadline = performance.now() + LAST_EVENTS_TIMEOUT_MS; ;) {
      const now = await level();
      onProgress({ stage: 'paused: last events', done: now.done, total: now.total, eventsPerSecond: meter(now.done), secondsLeft: null });
      if (now.behind === 0) break;
      if (performance.now() > deadline)
        throw new Error(`the rebuilt schema did not reach the paused one within ${LAST_EVENTS_TIMEOUT_MS / 1000} s`);
      await sleep(100);
    }

    pauseTook.lastEventsMs = Math.round(performance.now() - pausedAt) - pauseTook.projectorsMs;
    onProgress({ stage: 'comparing', done: sum(frozen), total: sum(frozen), eventsPerSecond: 0, secondsLeft: null });
    const [mine, theirs] = [await pool.connect(), await active.connect()];
    let differs: { table: string; active: TableHash; rebuilt: TableHash }[];
    let rebuiltHashes: Map<string, TableHash>;
    try {
      // The read-model tables both have (the base schema also holds the command side's own).
      const common = new Set(await comparedTables(theirs, state.active));
      const tables = (await comparedTables(mine, target)).filter((table) => common.has(table));
      // Both schemas at once, each on a connection of its own.
      const [rebuilt, current] = await Promise.all([tableHashes(mine, target, tables), tableHashes(theirs, state.active, tables, target)]);
      rebuiltHashes = rebuilt;
      differs = tables.flatMap((table) => {
        const [a, r] = [current.get(table)!, rebuilt.get(table)!];
        return a.hash === r.hash && a.rows === r.rows ? [] : [{ table, active: a, rebuilt: r }];
      });
    } finally {
      mine.release();
      theirs.release();
    }
    pauseTook.compareMs = Math.round(performance.now() - pausedAt) - pauseTook.projectorsMs - pauseTook.lastEventsMs;
    if (!sameCheckpoints(frozen, await checkpoints(active)))
      throw new Error('the active read models moved while the projectors were paused');
    if (differs.length > 0) return { switched: false, from: state.active, to: target, differs, foundInLog };

    const next: ControlState = { active: target, previous: state.active, phase: 'serving', generation: state.generation + 1 };
    await control.set(next);
    paused = false;
    const pausedMs = Math.round(performance.now() - pausedAt);
    await waitForProjectors(control, 'serving', PAUSE_ACK_TIMEOUT_MS, target).catch((error: unknown) =>
      log.warn('not every projector reported back yet', { error }),
    );
    log.info(mode === 'rebuild' ? 'switched to the rebuilt read models' : 'rolled back', { from: state.active, to: target });
    return {
      switched: true,
      from: state.active,
      to: target,
      generation: next.generation,
      tables: Object.fromEntries(rebuiltHashes),
      pausedMs,
      pause: pauseTook,
      events: sum(frozen),
      seconds: Math.round((performance.now() - started) / 100) / 10,
      foundInLog,
    };
  } finally {
    if (paused)
      await control.set({ ...state, phase: 'serving' }).catch((error: unknown) => log.error('could not resume the projectors', { error }));
    await consumer.disconnect().catch(() => undefined);
    await running?.finish(FINISH_TIMEOUT_MS);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
    await active.end();
    await pool.end();
  }
}

function sameCheckpoints(a: Map<string, bigint>, b: Map<string, bigint>): boolean {
  return a.size === b.size && [...a].every(([key, next]) => b.get(key) === next);
}

function sum(checkpoints: Map<string, bigint>): number {
  return [...checkpoints.values()].reduce((total, next) => total + Number(next), 0);
}

async function waitForProjectors(
  control: ReadModelControl,
  phase: ControlState['phase'],
  timeoutMs: number,
  schema?: string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const projectors = await control.projectors(PROJECTOR_ALIVE_MS);
    if (projectors.every((p) => p.phase === phase && (schema === undefined || p.schema === schema))) return;
    if (performance.now() > deadline) {
      throw new Error(
        `projectors still not ${phase} after ${timeoutMs / 1000} s: ${projectors.map((p) => `${p.instanceId} ${p.phase}`).join(', ')}`,
      );
    }
    await sleep(100);
  }
}

/** Events per second over the last few seconds. */
function rateMeter(): (done: number) => number | null {
  const samples: { at: number; done: number }[] = [];
  return (done) => {
    const at = performance.now();
    samples.push({ at, done });
    while (samples.length > 2 && at - samples[0]!.at > 5000) samples.shift();
    const first = samples[0]!;
    // Not before two seconds of progress: the first seconds are the consumer joining its
    // group and the first fetches, and a rate taken from them promised hours.
    if (at - first.at < MEASURED_OVER_MS || done === first.done) return null;
    return Math.round(((done - first.done) * 1000) / (at - first.at));
  };
}
const MEASURED_OVER_MS = 2000;
