import { lastCheckpoint } from '@chat/platform';
import { retryThroughOutage, sleep, type Logger } from '@chat/platform';
import type { PartitionBatch } from '../adapters/pg-projection.ts';

// Under live load Kafka hands the projector many small batches, a few events of one partition
// each, and a transaction per batch made Postgres commit about once per message. The gatherer
// holds each batch for at most `waitMs` and writes every batch that came meanwhile, from any
// partition, in one transaction: one commit, one checkpoint statement, one NOTIFY, one Redis
// pipeline. A batch that finds no write in flight is written at once, and what comes while a
// write runs goes together as soon as it commits (group commit: the busier Postgres is, the
// more each commit carries), or after `waitMs` in a second write if that one is slow. A
// backlog fills a write at once (`maxRecords`).
//
// Batches are handed over without waiting for their commit, so Kafka fetches and decodes the
// next ones while Postgres writes (a backlog goes as fast as the slower of the two, not their
// sum); at most `maxQueued` records wait. That is safe because Postgres' checkpoint, not the
// group offset, says where a partition resumes: what was handed over and never committed (a
// crash, a stop) is read again from the checkpoint. A partition's batches are written in their
// order and never in two writes at once: two transactions of one partition could otherwise
// commit out of order, and the later checkpoint would make the earlier records look applied.

export interface GatherOptions {
  /** The longest a batch waits for the write in flight before a second write takes it. */
  waitMs: number;
  /** A write starts at once when this many records wait, and takes no more than that. */
  maxRecords: number;
  /** Writes at the same time (Postgres has more than one core to give). */
  maxInFlight: number;
  /** Records handed over and not yet committed, at most: beyond it `submit` waits. */
  maxQueued: number;
}

type Write = (batches: PartitionBatch[]) => Promise<void>;

const HEARTBEAT_EVERY_MS = 1000;

export class BatchGatherer {
  private readonly write: Write;
  private readonly options: GatherOptions;
  private readonly log: Logger;
  private waiting: PartitionBatch[] = [];
  private waitingRecords = 0;
  private queuedRecords = 0;
  private readonly writing = new Set<string>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The waiting batches waited long enough (the timer fired, or no write is in flight): the next free slot writes them at once. */
  private due = false;
  private stopped = false;
  private settled: (() => void)[] = [];

  constructor(write: Write, options: GatherOptions, log: Logger) {
    this.write = write;
    this.options = options;
    this.log = log;
  }

  /**
   * Hands a batch over, and returns once fewer than `maxQueued` records wait for their commit
   * (at once, unless Postgres is behind), calling `keepWaiting` between checks (Kafka's
   * heartbeat); false from it gives up waiting (the consumer is stopping; the batch stays queued).
   */
  async submit(batch: PartitionBatch, keepWaiting: () => Promise<boolean>): Promise<void> {
    if (this.stopped) return;
    this.waiting.push(batch);
    this.waitingRecords += batch.records.length;
    this.queuedRecords += batch.records.length;
    if (this.inFlight === 0) this.due = true;
    if (this.due || this.waitingRecords >= this.options.maxRecords) this.startWrites();
    else this.startTimer();
    while (this.queuedRecords >= this.options.maxQueued && !this.stopped) {
      // Woken by a commit, or after a second at most: a write retried through an outage can
      // take long, and Kafka must hear a heartbeat meanwhile.
      await Promise.race([new Promise<void>((resolve) => this.settled.push(resolve)), sleep(HEARTBEAT_EVERY_MS)]);
      if (!(await keepWaiting())) return;
    }
  }

  /** Resolves once everything handed over is committed, or `stop` gave up on it. */
  async flushed(): Promise<void> {
    while ((this.queuedRecords > 0 || this.inFlight > 0) && !this.stopped) {
      await new Promise<void>((resolve) => this.settled.push(resolve));
    }
  }

  /** Stops retrying and forgets what was not committed (read again from the checkpoints by whoever projects next). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.waiting = [];
    this.wake();
  }

  private startTimer(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.due = true;
      this.startWrites();
    }, this.options.waitMs);
  }

  /** Starts writes while slots are free and batches are due (waited long enough, or enough of them). */
  private startWrites(): void {
    while (
      !this.stopped &&
      this.inFlight < this.options.maxInFlight &&
      this.waiting.length > 0 &&
      (this.due || this.waitingRecords >= this.options.maxRecords)
    ) {
      const { batches, records } = this.take();
      if (batches.length === 0) break; // every waiting partition is being written: the next free slot takes them
      this.inFlight++;
      for (const b of batches) this.writing.add(key(b));
      void this.writeUntilDone(batches).finally(() => {
        this.inFlight--;
        this.queuedRecords -= records;
        for (const b of batches) this.writing.delete(key(b));
        this.wake();
        // Group commit: what gathered while Postgres was busy goes now, in one write.
        if (this.inFlight === 0 && this.waiting.length > 0) this.due = true;
        this.startWrites();
        if (this.waiting.length > 0 && !this.due) this.startTimer();
      });
    }
    if (this.waiting.length === 0) {
      this.due = false;
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** The waiting batches of partitions not being written, one per partition (consecutive ones merged), in order. */
  private take(): { batches: PartitionBatch[]; records: number } {
    const merged = new Map<string, { topic: string; partition: number; records: PartitionBatch['records'][number][] }>();
    const left: PartitionBatch[] = [];
    const held = new Set<string>();
    let records = 0;
    for (const batch of this.waiting) {
      const k = key(batch);
      // Once a partition's batch stays behind, so do its later ones (they must follow it).
      if (this.writing.has(k) || held.has(k) || (!merged.has(k) && records >= this.options.maxRecords)) {
        held.add(k);
        left.push(batch);
        continue;
      }
      const target = merged.get(k) ?? { topic: batch.topic, partition: batch.partition, records: [] };
      merged.set(k, target);
      for (const r of batch.records) {
        // A partition read again from its checkpoint (after a rebalance) repeats offsets already taken.
        const last = target.records.at(-1);
        if (!last || BigInt(r.offset) > BigInt(last.offset)) target.records.push(r);
      }
      records += batch.records.length;
    }
    this.waiting = left;
    this.waitingRecords -= records;
    return { batches: [...merged.values()], records };
  }

  private async writeUntilDone(batches: PartitionBatch[]): Promise<void> {
    await retryThroughOutage(() => this.write(batches), {
      keepGoing: () => !this.stopped,
      onFailure: (error, attempt) => this.log.warn('projecting batches failed; retrying', { attempt, partitions: batches.length, error }),
    });
    lastCheckpoint.setToCurrentTime();
  }

  private wake(): void {
    const settled = this.settled;
    this.settled = [];
    for (const resolve of settled) resolve();
  }
}

function key(batch: PartitionBatch): string {
  return `${batch.topic}:${batch.partition}`;
}
