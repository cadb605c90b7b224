import type { Admin } from 'kafkajs';
import type { Logger } from './log.ts';
import { foreignLogReason } from './read-model-control.ts';

// Offsets, checkpoints, snapshots and folded state only mean something in the Kafka cluster
// that issued them. A running service that finds another cluster answering on its brokers'
// addresses (a broker back with empty, freshly formatted storage; a fail-over to another
// cluster) must stop using them at once, not only at its next start: it asks the cluster for
// its id every few seconds (a metadata request, answered by any broker) and, once the id
// differs from the one it started with, calls `onSwap` and stays swapped until restarted.
// A cluster that does not answer is an outage, not a swap.

/** How often a running service asks (CLUSTER_CHECK_INTERVAL_MS, validated with the rest of the environment). */
export function clusterCheckIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  return Number(env.CLUSTER_CHECK_INTERVAL_MS ?? 5000);
}

export class ClusterWatch {
  readonly clusterId: string;
  private readonly admin: Admin;
  private readonly log: Logger;
  private readonly onSwap: (now: string) => void;
  private swappedTo: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(admin: Admin, clusterId: string, log: Logger, onSwap: (now: string) => void) {
    this.admin = admin;
    this.clusterId = clusterId;
    this.log = log;
    this.onSwap = onSwap;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Asks the cluster for its id now; calls `onSwap` the first time it differs. */
  async check(): Promise<void> {
    if (this.swappedTo !== undefined) return;
    let now: string;
    try {
      now = (await this.admin.describeCluster()).clusterId;
    } catch {
      return; // unreachable: its clients wait that out
    }
    if (this.swappedTo !== undefined || now === this.clusterId) return;
    this.swappedTo = now;
    this.log.error(foreignLogReason(this.clusterId, now));
    this.onSwap(now);
  }
}
