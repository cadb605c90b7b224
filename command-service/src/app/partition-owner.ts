import { currentTrace, retryThroughOutage, sleep, type Logger, type TraceContext } from '@chat/platform';
import { commandError } from '../domain/errors.ts';
import {
  EVENT_OF_COMMAND,
  decide,
  evolve,
  evolveMessage,
  targetOf,
  type MessageFact,
  type RoomCommand,
  type RoomEvent,
  type RoomState,
} from '../domain/room.ts';
import { unavailable, type Outcome } from './outcome.ts';
import { PartitionState, idempotencyScope, type AcceptedCommand, type PartitionSnapshot } from './partition-state.ts';
import type { Appender } from './transaction-pump.ts';

// The single writer of one partition of the room topic. Commands are decided one at a time,
// in arrival order, against the committed state plus what is still waiting to commit (the
// overlay), so many commands of one room fit in one Kafka transaction. A transaction that
// fails takes every decision after it down with it: the overlay is dropped and the committed
// state re-reads the log's tail, where an append that did commit is found, before deciding again.

/**
 * Which producer generation may write each partition (see PgWriterClaims). Writers a claim
 * replaced stay listed until they are fenced: a claimant serves only after fencing them all.
 */
export interface WriterClaims {
  /** Makes `transactionalId` the partition's writer; resolves with the writers it must fence first. */
  claim(partition: number, transactionalId: string): Promise<string[]>;
  /**
   * Moves the claim to `to` only if one of `from` (this instance's earlier generations) or `to`
   * itself still holds it: a recovery retried after it renewed some claims still owns them.
   * Resolves with the writers still to fence, or undefined when another instance holds it.
   */
  renew(partition: number, from: readonly string[], to: string): Promise<string[] | undefined>;
  /** Records that `holder` fenced `ids` (if it still holds the partition). */
  fenced(partition: number, holder: string, ids: readonly string[]): Promise<void>;
}

export interface PartitionRestorer {
  loadSnapshot(partition: number): Promise<PartitionSnapshot | undefined>;
  saveSnapshot(partition: number, snapshot: PartitionSnapshot): Promise<void>;
  /** Applies every committed record from `state.nextOffset` to the partition's current end; resolves with how many. */
  readTail(partition: number, state: PartitionState): Promise<number>;
}

/** Facts of messages with no activity within the window, from the read model (see PartitionState). */
export interface MessageFacts {
  load(roomId: string, messageId: string): Promise<MessageFact | null>;
}

export interface OwnerDeps {
  appender: Appender;
  messages: MessageFacts;
  claims: WriterClaims;
  restorer: PartitionRestorer;
  /** Asks for the queued decisions to be committed. */
  schedule: () => void;
  /** Called when the partition turned out to belong to another instance. */
  lost: (owner: PartitionOwner) => void;
}

export interface OwnerOptions {
  log: Logger;
  idempotencyWindowMs: number;
  /** Commands decided but not yet committed, per partition and per room, before new ones are refused. */
  maxPendingPerPartition: number;
  maxPendingPerRoom: number;
  /** A restore that folded more records than this writes a snapshot at once. */
  snapshotAfterRecords: number;
  now?: () => number;
}

export interface Pending {
  events: RoomEvent[];
  /** The trace of the request that decided it: its records' spans continue it. */
  trace: TraceContext;
  roomId: string;
  scope: string | undefined;
  bytes: number;
  settle: (outcome: Outcome) => void;
}

interface Overlay {
  state: RoomState;
  /** Facts of the messages the room's pending events are about, as those events leave them. */
  facts: Map<string, MessageFact>;
  pending: number;
  /** Resolves once the room's newest pending append settled: true when it committed. */
  settled: Promise<boolean>;
}

/**
 * The event log holds less than this partition's state was folded from: a broker that came
 * back with empty storage on the same address, a topic deleted and made again, a fail-over to
 * another cluster. Offsets then name other records, so nothing may be decided or skipped on
 * them until an operator says which log is the right one.
 */
export class LogMismatch extends Error {
  override name = 'LogMismatch';
  /** The partitions found so, where the finder knows them. */
  readonly partitions: readonly number[];

  constructor(message: string, partitions: readonly number[] = []) {
    super(message);
    this.partitions = partitions;
  }
}

const HALTED =
  'the event log is not the one this room was built from; nothing is decided until an operator acts (retry with the same idempotency key later)';

export class PartitionOwner {
  readonly partition: number;
  private readonly deps: OwnerDeps;
  private readonly options: OwnerOptions;
  private committedState = new PartitionState();
  private readonly overlay = new Map<string, Overlay>();
  private readonly pendingKeys = new Map<string, Promise<Outcome>>();
  private queue: Pending[] = [];
  /** The batch taken by the pump and not yet settled, if any. */
  private inFlight: PromiseWithResolvers<void> | undefined;
  private pendingCount = 0;
  private status: 'restoring' | 'serving' | 'released' | 'halted' = 'restoring';
  private serving = Promise.withResolvers<void>();
  private work: Promise<unknown> = Promise.resolve();
  private sinceSnapshot = 0;

  constructor(partition: number, deps: OwnerDeps, options: OwnerOptions) {
    this.partition = partition;
    this.deps = deps;
    this.options = options;
    this.serving.promise.catch(() => undefined);
  }

  get isServing(): boolean {
    return this.status === 'serving';
  }

  get isHalted(): boolean {
    return this.status === 'halted';
  }

  /** Stops this partition for good (until the instance restarts): see LogMismatch. */
  halt(reason: string): void {
    if (this.status === 'halted') return;
    this.status = 'halted';
    this.serving.reject(new Error('halted'));
    this.failQueued(HALTED);
    this.options.log.error('the event log is not the one this partition was built from; deciding nothing until an operator acts', {
      partition: this.partition,
      reason,
    });
  }

  /** Stops deciding until the next restore; what is queued fails, what is in flight settles. */
  suspend(): void {
    if (this.status !== 'serving') return;
    this.status = 'restoring';
    this.serving = Promise.withResolvers<void>();
    this.serving.promise.catch(() => undefined);
  }

  /**
   * (Re)takes the partition, then folds snapshot-or-memory plus the log's tail. A fresh
   * assignment claims the partition and fences the writer it replaces; after this
   * instance's own producer failed, `renewFrom` moves only its own claim, so a partition
   * someone else claimed meanwhile is given up instead of taken back.
   */
  restore(how: { renewFrom?: readonly string[] } = {}): Promise<void> {
    this.suspend();
    return this.exclusive(() => this.restoreNow(how.renewFrom));
  }

  /** Gives the partition up: nothing more is appended by this owner. */
  release(): Promise<void> {
    this.status = 'released';
    this.serving.reject(new Error('released'));
    this.failQueued('this room moved to another instance; retry with the same idempotency key');
    return this.exclusive(async () => {
      await this.inFlight?.promise;
      await this.snapshot().catch((error: unknown) => this.options.log.warn('snapshot on release failed', { error }));
    });
  }

  /** Writes the committed state as the partition's snapshot, when it moved since the last one. */
  async snapshot(): Promise<void> {
    if (this.sinceSnapshot === 0) return;
    const counted = this.sinceSnapshot;
    await this.deps.restorer.saveSnapshot(this.partition, this.committedState.toSnapshot());
    this.sinceSnapshot = Math.max(0, this.sinceSnapshot - counted);
  }

  /** Forgets idempotency keys older than the window. */
  expireKeys(): void {
    this.sinceSnapshot += this.committedState.expireKeys(this.now() - this.options.idempotencyWindowMs);
  }

  /** The rooms of the partition as the log has them (the retention sweep reads their retention). */
  roomStates(): ReadonlyMap<string, RoomState> {
    return this.committedState.rooms;
  }

  async submit(command: RoomCommand, waitMs: number): Promise<Outcome> {
    for (;;) {
      while (this.status !== 'serving') {
        if (this.status === 'released') return unavailable('this room moved to another instance; retry with the same idempotency key');
        if (this.status === 'halted') return unavailable(HALTED);
        const ready = await Promise.race([this.serving.promise.then(() => true), sleep(waitMs).then(() => false)]).catch(() => false);
        if (!ready) return unavailable('this room is being taken over by an instance; retry with the same idempotency key');
      }
      // A message the command is about that has had no activity within the window: from the read
      // model, before deciding (anything that happened to it since is in memory, and wins).
      const target = targetOf(command);
      if (target !== null && this.factOf(command.roomId, target) === undefined) {
        const fact = await this.deps.messages.load(command.roomId, target);
        // A restore that began meanwhile is re-reading the log: decide on the state it leaves.
        if (this.status !== 'serving') continue;
        if (fact) this.committedState.remember(target, fact, this.now());
      }
      return this.decideNow(command);
    }
  }

  /** A message of this room as the next decision must see it: pending events first, then committed. */
  private factOf(roomId: string, messageId: string): MessageFact | undefined {
    const pending = this.overlay.get(roomId)?.facts.get(messageId);
    if (pending) return pending.roomId === roomId ? pending : undefined;
    return this.committedState.fact(roomId, messageId);
  }

  /**
   * What this partition knows under a new message's id, in any room. Ids are random UUIDs the
   * server makes, so this is only ever a forged command; one reusing an id of another
   * partition's room, or one beyond the window, is left to the read model, whose unique
   * message id sets the record aside, and whose every statement keys by room and id.
   */
  private knownAnywhere(messageId: string): MessageFact | undefined {
    for (const overlay of this.overlay.values()) {
      const pending = overlay.facts.get(messageId);
      if (pending) return pending;
    }
    return this.committedState.messages.get(messageId);
  }

  /** Synchronous from lookup to queueing, so the decisions of one partition never interleave. */
  private decideNow(command: RoomCommand): Promise<Outcome> | Outcome {
    const { roomId, actorId, commandId } = command;
    const scope = commandId === null ? undefined : idempotencyScope(roomId, actorId, commandId);
    if (scope) {
      const prior = this.committedState.keys.get(scope);
      if (prior) return answerRetry(command, prior, this.partition);
      const pending = this.pendingKeys.get(scope);
      if (pending) return pending.then((outcome) => (outcome.ok ? { ...outcome, duplicate: true } : outcome));
    }
    const overlay = this.overlay.get(roomId);
    if (this.pendingCount >= this.options.maxPendingPerPartition || (overlay?.pending ?? 0) >= this.options.maxPendingPerRoom) {
      return unavailable('too many commands are waiting for this room; retry shortly with the same idempotency key');
    }
    const state = overlay?.state ?? this.committedState.room(roomId);
    const target = targetOf(command);
    const decision = decide(
      command,
      state,
      target === null ? null : (this.factOf(roomId, target) ?? null),
      command.type === 'SendMessage' ? (this.knownAnywhere(command.messageId) ?? null) : null,
    );
    if (!decision.ok) return decision;
    if (decision.events.length === 0) {
      // Nothing to append, but the state that made it a no-op may still be waiting to commit.
      const noop: Outcome = {
        ok: true,
        roomId,
        eventId: null,
        position: null,
        revision: state.revision,
        messageId: null,
        duplicate: false,
        projected: true,
      };
      if (!overlay) return noop;
      return overlay.settled.then((committed) => (committed ? noop : unavailable('an earlier command of this room failed; retry')));
    }
    const occurredAt = this.now();
    const events = decision.events.map(
      (event) => ({ ...event, eventId: crypto.randomUUID(), occurredAt, actorId, commandId }) as RoomEvent,
    );
    const outcome = new Promise<Outcome>((resolve) => {
      this.queue.push({
        events,
        trace: currentTrace(),
        roomId,
        scope,
        bytes: events.reduce((sum, e) => sum + approximateBytes(e), 0),
        settle: resolve,
      });
    });
    const facts = new Map(overlay?.facts);
    for (const event of events) {
      if (!('messageId' in event)) continue;
      const fact = evolveMessage(facts.get(event.messageId) ?? this.committedState.messages.get(event.messageId), event);
      if (fact) facts.set(event.messageId, fact);
    }
    this.overlay.set(roomId, {
      state: events.reduce(evolve, state),
      facts,
      pending: (overlay?.pending ?? 0) + 1,
      settled: outcome.then((o) => o.ok),
    });
    this.pendingCount++;
    if (scope) this.pendingKeys.set(scope, outcome);
    this.deps.schedule();
    return outcome;
  }

  /** For the pump: the queued decisions, up to `maxBytes`, now in flight until committed() or failed(). */
  takeBatch(maxBytes: number): Pending[] {
    if (this.status !== 'serving' || this.inFlight || (this.queue[0]?.bytes ?? Infinity) > maxBytes) return [];
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && bytes + this.queue[count]!.bytes <= maxBytes) bytes += this.queue[count++]!.bytes;
    this.inFlight = Promise.withResolvers<void>();
    return this.queue.splice(0, count);
  }

  /** Where this partition's next record must land: a log that places one lower is not the log its state came from. */
  get nextOffset(): bigint {
    return this.committedState.nextOffset;
  }

  /** For the pump: the batch is in the log from `firstOffset` on (at or above nextOffset: the appender checked before committing). */
  committed(batch: Pending[], firstOffset: bigint): void {
    let offset = firstOffset;
    for (const pending of batch) {
      for (const event of pending.events) this.committedState.apply(event, offset++);
      this.sinceSnapshot += pending.events.length;
      const last = pending.events.at(-1)!;
      this.settle(pending, {
        ok: true,
        roomId: pending.roomId,
        eventId: last.eventId,
        position: { partition: this.partition, offset: String(offset - 1n) },
        revision: last.revision,
        messageId: 'messageId' in last ? last.messageId : null,
        duplicate: false,
        projected: false,
      });
    }
    this.landed();
    this.deps.schedule();
  }

  /** For the pump: the batch's transaction failed; every later decision goes with it. */
  failed(batch: Pending[]): void {
    this.suspend();
    for (const pending of batch)
      this.settle(pending, unavailable('the event log did not take the command; retry with the same idempotency key'));
    this.landed();
    this.failQueued('an earlier command of this partition failed; retry with the same idempotency key');
  }

  private landed(): void {
    this.inFlight?.resolve();
    this.inFlight = undefined;
  }

  private settle(pending: Pending, outcome: Outcome): void {
    this.pendingCount--;
    const overlay = this.overlay.get(pending.roomId);
    if (overlay && --overlay.pending === 0) this.overlay.delete(pending.roomId);
    if (pending.scope) this.pendingKeys.delete(pending.scope);
    pending.settle(outcome);
  }

  /** Fails every decision still queued; the overlay they built goes as they settle. */
  private failQueued(message: string): void {
    const queued = this.queue;
    this.queue = [];
    for (const pending of queued) this.settle(pending, unavailable(message));
  }

  private async restoreNow(renewFrom: readonly string[] | undefined): Promise<void> {
    // What is in flight settles first; what is queued was decided on a view the tail may contradict.
    await this.inFlight?.promise;
    this.failQueued('this room was re-read from the log; retry with the same idempotency key');
    await retryThroughOutage(
      async () => {
        const started = Date.now();
        const { appender, claims, restorer } = this.deps;
        const toFence =
          renewFrom === undefined
            ? await claims.claim(this.partition, appender.transactionalId)
            : await claims.renew(this.partition, renewFrom, appender.transactionalId);
        if (toFence === undefined) {
          this.options.log.warn('another instance claimed this partition meanwhile; giving it up', { partition: this.partition });
          this.deps.lost(this);
          return;
        }
        // Every writer the claim replaced, before serving: one that is not fenced could still
        // commit. A fence that fails throws, and the retry finds them still listed.
        for (const id of toFence) await appender.fence(id);
        if (toFence.length > 0) await claims.fenced(this.partition, appender.transactionalId, toFence);
        let source = 'memory';
        if (this.committedState.nextOffset === 0n) {
          const snapshot = await restorer.loadSnapshot(this.partition);
          source = snapshot ? 'snapshot' : 'log';
          if (snapshot) this.committedState = PartitionState.fromSnapshot(snapshot);
        }
        // Expire first: the fold then skips keys already outside the window, so even a fold of
        // the whole log holds no more keys than the window does.
        const expired = this.committedState.expireKeys(this.now() - this.options.idempotencyWindowMs);
        // Released meanwhile: the partition's tail is the next owner's to read.
        if (this.isReleased()) return;
        let folded: number;
        try {
          folded = await restorer.readTail(this.partition, this.committedState);
        } catch (error) {
          if (!(error instanceof LogMismatch)) throw error;
          return this.halt(error.message);
        }
        this.sinceSnapshot += folded + expired;
        if (folded >= this.options.snapshotAfterRecords) await this.snapshot();
        if (this.isReleased() || this.isHalted) return;
        this.status = 'serving';
        this.serving.resolve();
        this.options.log.info('partition ready', {
          partition: this.partition,
          from: source,
          folded,
          rooms: this.committedState.rooms.size,
          keys: this.committedState.keys.size,
          ms: Date.now() - started,
        });
        this.deps.schedule();
      },
      {
        keepGoing: () => !this.isReleased() && !this.isHalted,
        onFailure: (error, attempt) =>
          this.options.log.warn('restoring a partition failed; retrying', { partition: this.partition, attempt, error }),
      },
    );
  }

  private isReleased(): boolean {
    return this.status === 'released';
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Restores, releases and snapshots of one partition run one at a time. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.work.then(work, work);
    this.work = result.catch(() => undefined);
    return result;
  }
}

function answerRetry(command: RoomCommand, prior: AcceptedCommand, partition: number): Outcome {
  if (prior.eventType !== EVENT_OF_COMMAND[command.type]) {
    return { ok: false, error: commandError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used for another command') };
  }
  return {
    ok: true,
    roomId: command.roomId,
    eventId: prior.eventId,
    position: { partition, offset: prior.offset },
    revision: prior.revision,
    messageId: prior.messageId,
    duplicate: true,
    projected: false,
  };
}

function approximateBytes(event: RoomEvent): number {
  // UTF-8 takes at most 3 bytes per UTF-16 unit; ids, names and headers fit in the rest.
  const text =
    ('body' in event ? event.body.length : 0) +
    ('name' in event ? event.name.length : 0) +
    ('topic' in event ? (event.topic?.length ?? 0) : 0);
  return 512 + 3 * text;
}
