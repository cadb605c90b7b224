import type { Admin } from 'kafkajs';
import type { Logger } from './log.ts';
import { readLogId } from './log-identity.ts';
import { foreignLogReason } from './read-model-control.ts';

// Offsets, checkpoints, snapshots and folded state only mean something in the event log that
// issued them: the Kafka cluster and its very topics (see log-identity.ts). A running service
// that finds another log answering on its brokers' addresses (a broker back with empty,
// freshly formatted storage; a fail-over to another cluster; an event topic deleted and made
// again) must stop using them at once, not only at its next start: it asks for the log's
// identity every few seconds (two metadata requests, answered by any broker) and, once it
// differs from the one it started with, calls `onSwap` and stays swapped until restarted.
// A cluster that does not answer, or a topic missing, is an outage, not a swap.

/** How often a running service asks (CLUSTER_CHECK_INTERVAL_MS, validated with the rest of the environment). */
export function clusterCheckIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  return Number(env.CLUSTER_CHECK_INTERVAL_MS ?? 5000);
}

export class ClusterWatch {
  readonly logId: string;
  private readonly admin: Admin;
  private readonly topicPrefix: string;
  private readonly log: Logger;
  private readonly onSwap: (now: string) => void;
  private swappedTo: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(admin: Admin, topicPrefix: string, logId: string, log: Logger, onSwap: (now: string) => void) {
    this.admin = admin;
    this.topicPrefix = topicPrefix;
    this.logId = logId;
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

  /** Asks for the log's identity now; calls `onSwap` the first time it differs. */
  async check(): Promise<void> {
    if (this.swappedTo !== undefined) return;
    let now: string;
    try {
      now = await readLogId(this.admin, this.topicPrefix);
    } catch {
      return; // unreachable, or a topic being made again: its clients wait that out
    }
    if (this.swappedTo !== undefined || now === this.logId) return;
    this.swappedTo = now;
    this.log.error(foreignLogReason(this.logId, now));
    this.onSwap(now);
  }
}
