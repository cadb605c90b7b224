import { describe, expect, it } from 'vitest';
import { checkHistory, findings, type HistoryMessage, type SendRecord, type StreamRecord } from '../src/faults/history.ts';

// The fault suite's checker must catch each way a platform can fail a client: fed histories
// with one known fault each, it names that fault and nothing else.

const R = 'room';
const send = (key: string, startedAt: number, ...attempts: SendRecord['attempts']): SendRecord => ({
  roomId: R,
  senderId: 'u1',
  key,
  body: `body ${key}`,
  startedAt,
  attempts,
});
const ok = (messageId: string, at: number) => ({ outcome: 'accepted' as const, messageId, at });
const lostAnswer = (at: number) => ({ outcome: 'unknown' as const, reason: 'network', at });
const stored = (sequence: number, key: string, messageId = `m-${key}`): HistoryMessage => ({
  roomId: R,
  sequence,
  messageId,
  senderId: 'u1',
  clientMessageId: key,
  body: `body ${key}`,
});
const stream = (after: number, ...received: HistoryMessage[]): StreamRecord => ({
  subscriber: 's1',
  roomId: R,
  after,
  received: received.map((m) => ({ sequence: m.sequence, messageId: m.messageId })),
  reconnects: 1,
});

const sends = [send('a', 0, ok('m-a', 5)), send('b', 10, lostAnswer(15), ok('m-b', 30)), send('c', 40, ok('m-c', 45))];
const history = [stored(1, 'a'), stored(2, 'b'), stored(3, 'c')];

describe('the history checker', () => {
  it('passes a history where every acknowledged send is stored once, in order, and streamed', () => {
    const verdict = checkHistory(sends, history, [stream(0, ...history), stream(1, history[1]!, history[2]!)]);
    expect(verdict).toMatchObject({ ok: true, sent: 3, acknowledged: 3, indeterminate: 0 });
  });

  it('finds an acknowledged message missing from history', () => {
    const verdict = checkHistory(sends, [stored(1, 'a'), { ...stored(2, 'c') }], []);
    expect(verdict.ok).toBe(false);
    expect(verdict.lost).toEqual(['room/u1/b (m-b)']);
    expect(findings(verdict)).toEqual(['lost: room/u1/b (m-b)']);
  });

  it('finds a key stored twice, and a hole in the numbering', () => {
    const verdict = checkHistory(sends, [...history, stored(5, 'b', 'm-b2')], []);
    expect(verdict.duplicated).toEqual(['room/u1/b stored 2 times']);
    expect(verdict.historyFaults).toEqual(['room: sequence 5 at position 4']);
  });

  it('finds a retry answered with another message id', () => {
    const retried = [...sends.slice(0, 2), send('c', 40, ok('m-c', 45), ok('m-other', 50))];
    expect(checkHistory(retried, history, []).inconsistentRetries).toEqual(['room/u1/c: answered m-c, m-other']);
  });

  it('finds a message stored before one acknowledged before it was sent, but allows overlapping sends either order', () => {
    const swapped = [stored(1, 'a'), stored(2, 'c'), stored(3, 'b')];
    expect(checkHistory(sends, swapped, []).reordered).toEqual(['room/u1: b (#3) after c (#2)']);
    // b still unanswered when c was sent: either order is honest.
    const overlapping = [send('a', 0, ok('m-a', 5)), send('b', 10, ok('m-b', 50)), send('c', 40, ok('m-c', 45))];
    expect(checkHistory(overlapping, swapped, []).ok).toBe(true);
  });

  it('counts a send never answered as indeterminate, stored or not, and fails a definite refusal that was stored', () => {
    const unanswered = [...sends, send('d', 60, lostAnswer(70))];
    expect(checkHistory(unanswered, history, [])).toMatchObject({ ok: true, indeterminate: 1 });
    expect(checkHistory(unanswered, [...history, stored(4, 'd')], [])).toMatchObject({ ok: true, indeterminate: 1 });
    const refused = [...sends, send('d', 60, { outcome: 'refused', code: 'VALIDATION', at: 70 })];
    expect(checkHistory(refused, [...history, stored(4, 'd')], []).refusedButStored).toEqual(['room/u1/d']);
  });

  it('finds a stream that missed, repeated or reordered a message', () => {
    const [a, b, c] = history as [HistoryMessage, HistoryMessage, HistoryMessage];
    expect(checkHistory(sends, history, [stream(0, a, c)]).streamFaults).toEqual(['s1 in room: at position 2 expected #2, got #3']);
    expect(checkHistory(sends, history, [stream(0, a, b, b, c)]).streamFaults).toEqual([
      's1 in room: #2 twice',
      's1 in room: at position 3 expected #3, got #2',
    ]);
    expect(checkHistory(sends, history, [stream(0, a, b)]).streamFaults).toEqual(['s1 in room: at position 3 expected #3, got nothing']);
  });
});
