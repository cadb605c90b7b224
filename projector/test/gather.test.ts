import { describe, expect, it } from 'vitest';
import { createLogger } from '@chat/platform';
import type { DecodedRecord, PartitionBatch } from '../src/adapters/pg-projection.ts';
import { BatchGatherer, type GatherOptions } from '../src/app/gather.ts';

const log = createLogger('gather-test', 'error');
const keepWaiting = () => Promise.resolve(true);
const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

function batch(partition: number, from: number, count = 1): PartitionBatch {
  const records: DecodedRecord[] = Array.from({ length: count }, (_, i) => ({
    offset: String(from + i),
    poison: { error: 'x', key: null, value: null },
  }));
  return { topic: 't', partition, records };
}

/** A write that records what it was given and finishes when told to. */
function gathererWith(options: Partial<GatherOptions>) {
  const writes: { batches: PartitionBatch[]; finish: (error?: Error) => void }[] = [];
  const write = (batches: PartitionBatch[]) =>
    new Promise<void>((resolve, reject) => {
      writes.push({ batches, finish: (error) => (error ? reject(error) : resolve()) });
    });
  const gatherer = new BatchGatherer(write, { waitMs: 10, maxRecords: 1000, maxInFlight: 2, maxQueued: 10_000, ...options }, log);
  const shape = () => writes.map((w) => w.batches.map((b) => `${b.partition}:${b.records.map((r) => r.offset).join(',')}`));
  return { gatherer, writes, shape };
}

describe('BatchGatherer', () => {
  it('writes a batch that finds no write in flight at once, and the batches of any partitions that came during a write together once it commits', async () => {
    const { gatherer, writes, shape } = gathererWith({ waitMs: 60_000 });
    await gatherer.submit(batch(9, 0), keepWaiting);
    expect(shape()).toEqual([['9:0']]); // idle: nobody to wait for
    for (const p of [0, 1, 2]) await gatherer.submit(batch(p, 0), keepWaiting);
    expect(shape()).toHaveLength(1); // gathering while Postgres is busy
    writes[0]!.finish();
    await tick(0);
    expect(shape()).toEqual([['9:0'], ['0:0', '1:0', '2:0']]); // group commit, long before waitMs
    writes[1]!.finish();
    await tick(0);
    await gatherer.submit(batch(3, 0), keepWaiting);
    expect(shape()).toEqual([['9:0'], ['0:0', '1:0', '2:0'], ['3:0']]); // idle again: at once
  });

  it('gives what waits behind a slow write to a second write after waitMs', async () => {
    const { gatherer, shape } = gathererWith({ waitMs: 20, maxInFlight: 2 });
    await gatherer.submit(batch(9, 0), keepWaiting);
    await gatherer.submit(batch(0, 0), keepWaiting);
    await gatherer.submit(batch(1, 0), keepWaiting);
    expect(shape()).toHaveLength(1);
    await tick(60);
    expect(shape()).toEqual([['9:0'], ['0:0', '1:0']]);
  });

  it('starts at once when enough records wait, without waiting out the timer', async () => {
    const { gatherer, shape } = gathererWith({ waitMs: 60_000, maxRecords: 100 });
    await gatherer.submit(batch(9, 0), keepWaiting); // idle: written at once; the next ones wait
    await gatherer.submit(batch(0, 0, 60), keepWaiting);
    expect(shape()).toHaveLength(1);
    await gatherer.submit(batch(1, 0, 40), keepWaiting);
    expect(shape()).toEqual([['9:0'], expect.any(Array)]);
  });

  it("never writes one partition in two writes at once: its next batches wait, merged, for the first write's commit", async () => {
    const { gatherer, writes, shape } = gathererWith({ waitMs: 1, maxInFlight: 2 });
    await gatherer.submit(batch(0, 0), keepWaiting);
    await tick(10);
    await gatherer.submit(batch(0, 1), keepWaiting);
    await gatherer.submit(batch(1, 0), keepWaiting);
    await gatherer.submit(batch(0, 2), keepWaiting);
    await tick(10);
    expect(shape()).toEqual([['0:0'], ['1:0']]); // a free slot, but partition 0 is being written
    writes[0]!.finish();
    await tick(10);
    expect(shape()).toEqual([['0:0'], ['1:0'], ['0:1,2']]);
  });

  it('retries a failed write with the same batches until it commits; flushed waits for everything handed over', async () => {
    const { gatherer, writes, shape } = gathererWith({ waitMs: 1, maxInFlight: 1 });
    await gatherer.submit(batch(0, 0), keepWaiting);
    await gatherer.submit(batch(1, 5), keepWaiting);
    let flushed = false;
    void gatherer.flushed().then(() => (flushed = true));
    writes[0]!.finish(new Error('connection lost'));
    await tick(300); // the first retry comes after 200 ms
    expect(shape()).toEqual([['0:0'], ['0:0']]);
    writes[1]!.finish();
    await tick(10);
    expect(shape()).toEqual([['0:0'], ['0:0'], ['1:5']]);
    expect(flushed).toBe(false);
    writes[2]!.finish();
    await tick(0);
    expect(flushed).toBe(true);
  });

  it('holds back whoever hands over more than maxQueued records until a commit makes room', async () => {
    const { gatherer, writes } = gathererWith({ waitMs: 1, maxRecords: 10, maxQueued: 20 });
    await gatherer.submit(batch(0, 0, 10), keepWaiting);
    let returned = false;
    void gatherer.submit(batch(1, 0, 10), keepWaiting).then(() => (returned = true));
    await tick(10);
    expect(returned).toBe(false);
    writes[0]!.finish();
    await tick(0);
    expect(returned).toBe(true);
  });

  it('drops a repeated offset of a partition read again from its checkpoint', async () => {
    const { gatherer, shape } = gathererWith({ waitMs: 5 });
    await gatherer.submit(batch(9, 0), keepWaiting); // idle: written at once; the next ones wait together
    await gatherer.submit(batch(0, 0, 3), keepWaiting);
    await gatherer.submit(batch(0, 1, 3), keepWaiting);
    await tick(20);
    expect(shape()).toEqual([['9:0'], ['0:0,1,2,3']]);
  });
});
