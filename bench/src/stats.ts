export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Percentiles of a sample in milliseconds, nearest-rank. `missing` more samples never came (no
 * answer or no delivery before the benchmark stopped waiting): they count as infinitely late, so a
 * percentile that reaches them is Infinity (null in JSON), never a flattering figure without them.
 */
export function summarize(samples: number[], missing = 0): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length + Math.max(0, missing);
  const at = (q: number) => (n === 0 ? NaN : (sorted[Math.ceil(q * n) - 1] ?? Infinity));
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    n,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(missing > 0 ? Infinity : (sorted.at(-1) ?? NaN)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

/** Counts of outcomes by name ("MessageAccepted", an error code, …). */
export class Tally {
  readonly counts = new Map<string, number>();
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
