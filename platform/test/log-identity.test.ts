import { describe, expect, it } from 'vitest';
import { describeLogChange, foreignLogReason, sameLog } from '../src/index.ts';

const LOG = 'C1/chat.room-events=R1,chat.user-events=U1';

describe('log identity', () => {
  it('is the same log only with the same cluster and the same topic ids; a cluster id recorded alone matches its cluster', () => {
    expect(sameLog(LOG, LOG)).toBe(true);
    expect(sameLog('C1', LOG)).toBe(true);
    expect(sameLog('C2', LOG)).toBe(false);
    expect(sameLog('C1/chat.room-events=R0,chat.user-events=U1', LOG)).toBe(false);
    expect(sameLog(LOG, 'C1')).toBe(false);
  });

  it('tells an operator which topics were made again, or that another cluster answers', () => {
    expect(describeLogChange('C1/chat.room-events=R0,chat.user-events=U1', LOG)).toBe(
      'in Kafka cluster C1, chat.room-events is a topic made again (new topic ids)',
    );
    expect(describeLogChange('C1/chat.room-events=R0,chat.user-events=U0', LOG)).toBe(
      'in Kafka cluster C1, chat.room-events and chat.user-events are topics made again (new topic ids)',
    );
    expect(describeLogChange('C2/chat.room-events=R1,chat.user-events=U1', LOG)).toBe('Kafka cluster C1 answers where cluster C2 did');
    expect(foreignLogReason('C2', LOG)).toMatch(
      /^this deployment follows another event log than the one answering \(Kafka cluster C1 answers where cluster C2 did;/,
    );
  });
});
