import { partitionsOwned } from '@chat/platform';
import type { Logger } from '@chat/platform';
import type { PartitionOwner } from './partition-owner.ts';

// This instance's partition owners, following the group's assignment: a partition gained is
// claimed and restored (fence, snapshot, tail), a partition kept is restored too (it may have
// moved away and back while this instance was frozen: the tail is then read, and is empty
// otherwise), a partition lost is released.

export class Owners {
  private readonly owners = new Map<number, PartitionOwner>();
  private readonly create: (partition: number) => PartitionOwner;
  private readonly log: Logger;
  private closed = false;
  /** Set once the event log is found not to be the one this instance's state came from: every partition stays halted. */
  private haltedFor: string | undefined;

  constructor(create: (partition: number) => PartitionOwner, log: Logger) {
    this.create = create;
    this.log = log;
  }

  get(partition: number): PartitionOwner | undefined {
    return this.owners.get(partition);
  }

  all(): Iterable<PartitionOwner> {
    return this.owners.values();
  }

  assigned(partitions: number[]): void {
    if (this.closed) return; // shutting down: a late assignment is not taken up
    for (const owner of [...this.owners.values()]) if (!partitions.includes(owner.partition)) this.lost(owner);
    for (const partition of partitions) {
      let owner = this.owners.get(partition);
      if (!owner) {
        owner = this.create(partition);
        this.owners.set(partition, owner);
      }
      partitionsOwned.set(this.owners.size);
      if (this.haltedFor !== undefined) owner.halt(this.haltedFor);
      else void owner.restore();
    }
    this.log.info('partitions assigned', { partitions });
  }

  /** The partition is no longer this instance's to write. */
  lost(owner: PartitionOwner): void {
    if (this.owners.get(owner.partition) === owner) this.owners.delete(owner.partition);
    partitionsOwned.set(this.owners.size);
    void owner.release().catch((error: unknown) => this.log.warn('releasing a partition failed', { partition: owner.partition, error }));
  }

  /** Halts every partition, owned now or assigned later (another cluster answers: see ClusterWatch). */
  haltAll(reason: string): void {
    this.haltedFor ??= reason;
    for (const owner of this.owners.values()) owner.halt(reason);
  }

  /** A partition found the event log is not the one its state was built from (see LogMismatch), or haltAll was called. */
  get anyHalted(): boolean {
    return this.haltedFor !== undefined || [...this.owners.values()].some((owner) => owner.isHalted);
  }

  /** Every owned partition restored and serving. */
  get allServing(): boolean {
    return [...this.owners.values()].every((owner) => owner.isServing);
  }

  describe(): { owned: number[]; ready: number[] } {
    const owned = [...this.owners.keys()].sort((a, b) => a - b);
    return { owned, ready: owned.filter((p) => this.owners.get(p)!.isServing) };
  }

  /** Periodic upkeep: expire idempotency keys, write snapshots of what moved. */
  async maintain(): Promise<void> {
    for (const owner of [...this.owners.values()]) {
      if (!owner.isServing) continue;
      owner.expireKeys();
      await owner.snapshot().catch((error: unknown) => this.log.warn('snapshot failed', { partition: owner.partition, error }));
    }
  }

  /** At shutdown: gives every partition up (with a last snapshot) and takes no new one. */
  async releaseAll(): Promise<void> {
    this.closed = true;
    const owners = [...this.owners.values()];
    this.owners.clear();
    await Promise.all(owners.map((owner) => owner.release().catch(() => undefined)));
  }
}
