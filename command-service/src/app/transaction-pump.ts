import { kafkaRecordsAppended, kafkaTransactionAborts, kafkaTransactionDuration } from '@chat/platform';
import { outsideTraces, retryThroughOutage, sleep, type Logger, type TraceContext } from '@chat/platform';
import type { RoomEvent } from '../domain/room.ts';
import { LogMismatch, type PartitionOwner, type Pending } from './partition-owner.ts';

// Commits what the partition owners decided, one Kafka transaction at a time for the whole
// instance: what is decided while a transaction commits forms the next one, so under load a
// transaction carries many commands, and an idle instance sends each at once. A transaction
// that fails fails every decision taken after it; the instance then moves its producer to a
// new generation and each owner re-reads its partition before deciding again.

export interface Appended {
  event: RoomEvent;
  partition: number;
  /** The trace of the command that decided it (the record's span continues it). */
  trace: TraceContext;
}

export interface Appender {
  /** The current producer generation's transactional id. */
  readonly transactionalId: string;
  /** Starts a new producer generation. */
  open(): Promise<void>;
  /** Makes the producer holding `transactionalId` unable to append again. */
  fence(transactionalId: string): Promise<void>;
  /**
   * Appends in one transaction; resolves with each partition's first offset once committed.
   * `floors` holds each partition's next offset as its owner's state knows it: a send that
   * placed records below it met another log (a topic made again, a broker back with empty
   * storage), and is aborted with a LogMismatch naming the partitions, so nothing is committed
   * to a log the state was not built from.
   */
  append(records: Appended[], floors: ReadonlyMap<number, bigint>): Promise<Map<number, bigint>>;
}

// Kafka refuses record batches over 1 MB by default: keep each partition's share well under.
const MAX_TRANSACTION_BYTES = 512 * 1024;
/**
 * The least time between two transactions under load (TRANSACTION_INTERVAL_MS). At 1,000
 * messages/s over 100 rooms on a 2-core box, 15 ms took a third off Kafka's CPU per message
 * and lowered the answers' tail, the box being less loaded (docs/performance.md).
 */
export const DEFAULT_TRANSACTION_INTERVAL_MS = 15;
/** Commands in one transaction that show load: below it, the next transaction starts at once. */
const BUSY_COMMANDS = 4;

export class TransactionPump {
  private readonly appender: Appender;
  private readonly owners: () => Iterable<PartitionOwner>;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private running = false;
  /** Set by every schedule(): work may be waiting that the running loop has not looked at yet. */
  private wanted = false;
  private recovering: Promise<void> | undefined;
  private lastStart = -Infinity;
  private lastCommands = 0;

  /**
   * `intervalMs`: under load, the least time between the starts of two transactions. Each
   * transaction costs three requests and a commit marker per partition it touches, whatever it
   * carries: on this kind of machine about 1 ms of CPU between kafkajs and the broker, so
   * fewer, fuller transactions are what lets the box keep up. Under load is after a
   * transaction of at least BUSY_COMMANDS commands; after a smaller one (a lone sender, a quiet
   * spell) the next starts at once, so the wait never adds to a lone message's latency.
   */
  constructor(appender: Appender, owners: () => Iterable<PartitionOwner>, log: Logger, intervalMs = DEFAULT_TRANSACTION_INTERVAL_MS) {
    this.appender = appender;
    this.owners = owners;
    this.log = log;
    this.intervalMs = intervalMs;
  }

  /** Called by an owner that queued a decision. */
  schedule(): void {
    this.wanted = true;
    if (this.running || this.recovering) return;
    this.running = true;
    // The loop commits many requests' commands: it belongs to none of their traces (each record's span continues its own).
    void outsideTraces(() => this.run()).finally(() => {
      this.running = false;
      // A decision queued while the loop was finishing (or recovering) must not wait for the
      // next command to come along: without this, its caller's retries waited on it for good.
      if (this.wanted) this.schedule();
    });
  }

  private async run(): Promise<void> {
    for (;;) {
      this.wanted = false;
      const wait = this.lastCommands >= BUSY_COMMANDS ? this.lastStart + this.intervalMs - performance.now() : 0;
      if (wait > 0) await sleep(wait);
      const taken: { owner: PartitionOwner; batch: Pending[] }[] = [];
      let bytes = 0;
      for (const owner of this.owners()) {
        const batch = owner.takeBatch(MAX_TRANSACTION_BYTES - bytes);
        if (batch.length === 0) continue;
        taken.push({ owner, batch });
        bytes += batch.reduce((sum, pending) => sum + pending.bytes, 0);
      }
      if (taken.length === 0) return;
      this.lastStart = performance.now();
      this.lastCommands = taken.reduce((sum, { batch }) => sum + batch.length, 0);
      const records = taken.flatMap(({ owner, batch }) =>
        batch.flatMap((pending) => pending.events.map((event) => ({ event, partition: owner.partition, trace: pending.trace }))),
      );
      let firstOffsets: Map<number, bigint>;
      const timed = kafkaTransactionDuration.startTimer();
      try {
        firstOffsets = await this.appender.append(records, new Map(taken.map(({ owner }) => [owner.partition, owner.nextOffset])));
        timed();
        kafkaRecordsAppended.inc(records.length);
      } catch (error) {
        kafkaTransactionAborts.inc();
        if (error instanceof LogMismatch)
          for (const { owner } of taken) if (error.partitions.includes(owner.partition)) owner.halt(error.message);
        this.log.warn('append failed; moving to a new producer and re-reading the partitions', { error });
        for (const { owner, batch } of taken) owner.failed(batch);
        await this.recover();
        continue; // what was decided during the recovery goes out now
      }
      for (const { owner, batch } of taken) owner.committed(batch, firstOffsets.get(owner.partition)!);
    }
  }

  /** New producer generation, the old one fenced; every owner renews its claim to it and re-reads its tail. */
  recover(): Promise<void> {
    this.recovering ??= (async () => {
      for (const owner of this.owners()) owner.suspend();
      const previous = this.appender.transactionalId;
      // Every generation this recovery leaves behind: an attempt that fails after renewing some
      // claims leaves them with its own generation, which the next attempt must renew from too.
      // A partition assigned meanwhile was claimed with one of them as well (whichever the
      // appender named then), so the owners are listed only once the new generation is open:
      // one assigned later claims with the new generation's id itself.
      const ours: string[] = [];
      await retryThroughOutage(
        async () => {
          ours.push(this.appender.transactionalId);
          await this.appender.open();
          // The failed generation may have left its transaction open (its abort can fail too);
          // until that ends, no read-committed reader, this instance's tail reads included,
          // gets past it. Fencing the old id aborts it now rather than at its timeout.
          await this.appender.fence(previous);
          await Promise.all([...this.owners()].map((owner) => owner.restore({ renewFrom: ours })));
        },
        { onFailure: (error, attempt) => this.log.warn('opening a new producer generation failed; retrying', { attempt, error }) },
      );
    })().finally(() => {
      this.recovering = undefined;
      this.schedule();
    });
    return this.recovering;
  }
}
