import type { PartitionBatch } from '../adapters/pg-projection.ts';

// Under live load Kafka hands the projector many small batches, a few events of one partition
// each, and a transaction per batch made Postgres commit about once per message. The gatherer
// holds each batch for at most `waitMs` and writes every batch that came meanwhile, from any
// partition, in one transaction: one commit, one checkpoint statement, one NOTIFY, one Redis
// pipeline. A backlog fills a write at once (`maxRecords`). Kafka gives a partition its next
// batch only once this one is settled, so a write never holds two batches of one partition,
// and writes in flight at the same time (`maxInFlight`) never share a partition.

export interface GatherOptions {
  /** The longest a batch waits for others before its write starts. */
  waitMs: number;
  /** A write starts at once when this many records are waiting. */
  maxRecords: number;
  /** Writes at the same time (Postgres has more than one core to give). */
  maxInFlight: number;
}

interface Waiting {
  batch: PartitionBatch;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class BatchGatherer {
  private readonly write: (batches: PartitionBatch[]) => Promise<void>;
  private readonly options: GatherOptions;
  private waiting: Waiting[] = [];
  private waitingRecords = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The timer fired while every write slot was taken: the next free slot writes at once. */
  private due = false;
  private inFlight = 0;

  constructor(write: (batches: PartitionBatch[]) => Promise<void>, options: GatherOptions) {
    this.write = write;
    this.options = options;
  }

  /** Resolves once the batch is committed together with whatever joined it; rejects with the write's error. */
  submit(batch: PartitionBatch): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.waiting.push({ batch, resolve, reject });
    this.waitingRecords += batch.records.length;
    if (this.waitingRecords >= this.options.maxRecords) this.startWrite();
    else
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.due = true;
        this.startWrite();
      }, this.options.waitMs);
    return promise;
  }

  private startWrite(): void {
    if (this.waiting.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = false;
    const taken = this.waiting;
    this.waiting = [];
    this.waitingRecords = 0;
    this.inFlight++;
    this.write(taken.map((w) => w.batch))
      .then(
        () => taken.forEach((w) => w.resolve()),
        (error: unknown) => taken.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        this.inFlight--;
        if (this.due || this.waitingRecords >= this.options.maxRecords) this.startWrite();
      });
  }
}
