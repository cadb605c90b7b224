import { describe, expect, it } from 'vitest';
import type { PartitionBatch } from '../src/adapters/pg-projection.ts';
import { BatchGatherer } from '../src/app/gather.ts';

function batch(partition: number, records = 1): PartitionBatch {
  return {
    topic: 't',
    partition,
    records: Array.from({ length: records }, (_, i) => ({ offset: String(i), poison: { error: 'x', key: null, value: null } })),
  };
}

/** A write that records what it was given and finishes when told to. */
function recordingWrite() {
  const writes: { partitions: number[]; finish: (error?: Error) => void }[] = [];
  const write = (batches: PartitionBatch[]) =>
    new Promise<void>((resolve, reject) => {
      writes.push({ partitions: batches.map((b) => b.partition), finish: (error) => (error ? reject(error) : resolve()) });
    });
  return { writes, write };
}

describe('BatchGatherer', () => {
  it('writes the batches that arrive within the wait together, and settles each once that write commits', async () => {
    const { writes, write } = recordingWrite();
    const gatherer = new BatchGatherer(write, { waitMs: 20, maxRecords: 1000, maxInFlight: 2 });
    const settled: number[] = [];
    const submitted = [0, 1, 2].map((p) => gatherer.submit(batch(p)).then(() => settled.push(p)));
    expect(writes).toHaveLength(0); // waiting for company
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(writes.map((w) => w.partitions)).toEqual([[0, 1, 2]]);
    expect(settled).toEqual([]); // not before the commit
    writes[0]!.finish();
    await Promise.all(submitted);
    expect(settled).toEqual([0, 1, 2]);
  });

  it('starts at once when enough records wait, without waiting out the timer', async () => {
    const { writes, write } = recordingWrite();
    const gatherer = new BatchGatherer(write, { waitMs: 60_000, maxRecords: 100, maxInFlight: 2 });
    void gatherer.submit(batch(0, 60));
    expect(writes).toHaveLength(0);
    void gatherer.submit(batch(1, 40));
    expect(writes.map((w) => w.partitions)).toEqual([[0, 1]]);
  });

  it('rejects every batch of a failed write with its error, so each is tried again', async () => {
    const { writes, write } = recordingWrite();
    const gatherer = new BatchGatherer(write, { waitMs: 1, maxRecords: 1000, maxInFlight: 1 });
    const outcomes = [gatherer.submit(batch(0)), gatherer.submit(batch(1))].map((p) =>
      p.then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    writes[0]!.finish(new Error('connection lost'));
    expect(await Promise.all(outcomes)).toEqual(['connection lost', 'connection lost']);
  });

  it('runs at most maxInFlight writes; what waits meanwhile goes in the next one as soon as a slot frees', async () => {
    const { writes, write } = recordingWrite();
    const gatherer = new BatchGatherer(write, { waitMs: 1, maxRecords: 1000, maxInFlight: 1 });
    const first = gatherer.submit(batch(0));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const later = [gatherer.submit(batch(1)), gatherer.submit(batch(2))];
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(writes.map((w) => w.partitions)).toEqual([[0]]); // the timer fired, but the one slot is taken
    writes[0]!.finish();
    await first;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(writes.map((w) => w.partitions)).toEqual([[0], [1, 2]]);
    writes[1]!.finish();
    await Promise.all(later);
  });
});
