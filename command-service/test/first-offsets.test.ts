import { describe, expect, it } from 'vitest';
import { firstOffsetsOf } from '../src/adapters/kafka-appender.ts';

// What a transactional send answered, checked before the commit: every partition written to
// must have its first offset, or the transaction is aborted whole (kafkajs can resolve a send
// without a partition whose leader moved to another broker).

const answered = (partition: number, baseOffset?: string) => ({ topicName: 't', partition, errorCode: 0, baseOffset });

describe("a send's first offsets", () => {
  it('maps each partition written to to its first offset', () => {
    expect(firstOffsetsOf([3, 1, 3], [answered(1, '10'), answered(3, '7')])).toEqual(
      new Map([
        [1, 10n],
        [3, 7n],
      ]),
    );
  });

  it('refuses an answer missing a partition, or its offset', () => {
    expect(() => firstOffsetsOf([1, 2], [answered(1, '10')])).toThrow(/no offset for partition 2/);
    expect(() => firstOffsetsOf([1, 2], [answered(1, '10'), answered(2)])).toThrow(/no offset for partition 2/);
  });
});
