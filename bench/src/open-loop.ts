import { performance } from 'node:perf_hooks';
import { sleep } from '@chat/platform';

// The open loop every load benchmark drives: a fixed offered rate, each send started at its
// scheduled time whatever happened to the ones before, so a slow system meets the same load
// and latency is measured from the scheduled time (no coordinated omission).

export interface OpenLoop {
  /** Sends per second. */
  rate: number;
  /** Seconds of load before the measured window, and in it. */
  warmupSeconds: number;
  durationSeconds: number;
  /** Runs as the first measured send is due: the place to take the window's first samples. */
  onWindowStart?(): void | Promise<void>;
  /** Send number `i`, due at `scheduledAt` (performance.now()); `measured` once in the window. */
  send(i: number, scheduledAt: number, measured: boolean): Promise<void>;
  /** How long to wait for the last answers once every send is started, in ms (then they are late). */
  drainMs?: number;
}

export interface OpenLoopResult {
  /** performance.now() as the window began. */
  windowStart: number;
  /** The rate at which the measured sends actually started (below `rate` when the generator fell behind). */
  achievedRate: number;
  /** Whether every send answered within the drain time. */
  drained: boolean;
}

export async function runOpenLoop(loop: OpenLoop): Promise<OpenLoopResult> {
  const total = loop.rate * (loop.warmupSeconds + loop.durationSeconds);
  const start = performance.now() + 100;
  const inFlight: Promise<void>[] = [];
  let windowStart = start;
  for (let i = 0; i < total; i++) {
    const scheduled = start + (i * 1000) / loop.rate;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const measured = i >= loop.rate * loop.warmupSeconds;
    if (measured && i === loop.rate * loop.warmupSeconds) {
      windowStart = performance.now();
      await loop.onWindowStart?.();
    }
    inFlight.push(loop.send(i, scheduled, measured));
  }
  const offeredSeconds = (performance.now() - windowStart) / 1000;
  const drained = await Promise.race([Promise.all(inFlight).then(() => true), sleep(loop.drainMs ?? 30_000).then(() => false)]);
  return { windowStart, achievedRate: Math.round((loop.rate * loop.durationSeconds) / offeredSeconds), drained };
}

/** Waits until `done()` or `ms` passed. */
export async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = performance.now() + ms; !done(); await sleep(50)) if (performance.now() > deadline) return false;
  return true;
}
