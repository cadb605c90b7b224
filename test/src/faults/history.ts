// The checker of the fault suite: given everything the clients did and saw (each send with
// every attempt's outcome, each room's history read at the end, each subscriber's stream), it
// says what the platform lost, duplicated or reordered. Pure: the workload records, this judges,
// the way Jepsen's checkers judge a history after the run.
//
// What a client may rely on, and so what is checked:
// - A send acknowledged (any attempt answered MessageAccepted) is in history, exactly once, with
//   its body; every attempt that was answered got the same message id (a retry answers the first
//   outcome).
// - A send refused with a definite error (a code other than UNAVAILABLE) is not in history. One
//   never answered (timeouts to the end) may or may not be: it is counted as indeterminate.
// - Each (room, sender, idempotency key) is in history at most once.
// - A room's history is numbered 1, 2, 3… with no gap; a sender's message acknowledged before
//   its next was sent comes before it.
// - A subscriber's stream, over every reconnect, is history after the cursor it started from:
//   nothing missing, nothing twice, in order.

export type Attempt =
  | { outcome: 'accepted'; messageId: string; at: number }
  | { outcome: 'refused'; code: string; at: number }
  /** No answer: a network error, a timeout, an HTTP error, or UNAVAILABLE (the client retries). */
  | { outcome: 'unknown'; reason: string; at: number };

export interface SendRecord {
  roomId: string;
  senderId: string;
  key: string;
  body: string;
  /** When the first attempt left. */
  startedAt: number;
  attempts: Attempt[];
}

export interface HistoryMessage {
  roomId: string;
  sequence: number;
  messageId: string;
  senderId: string;
  clientMessageId: string | null;
  body: string;
}

export interface StreamRecord {
  subscriber: string;
  roomId: string;
  /** The sequence the subscription started after (0: from the room's start). */
  after: number;
  /** Every message received, over every reconnect, in arrival order. */
  received: { sequence: number; messageId: string }[];
  reconnects: number;
}

export interface Verdict {
  sent: number;
  acknowledged: number;
  /** Neither acknowledged nor definitely refused. */
  indeterminate: number;
  lost: string[];
  duplicated: string[];
  reordered: string[];
  /** Attempts of one send answered with different message ids. */
  inconsistentRetries: string[];
  /** Refused for good, yet in history. */
  refusedButStored: string[];
  /** Gaps or repeats in a room's numbering. */
  historyFaults: string[];
  streamFaults: string[];
  ok: boolean;
}

const sendKey = (s: { roomId: string; senderId: string; key: string }) => `${s.roomId}/${s.senderId}/${s.key}`;

export function acknowledgement(send: SendRecord): Extract<Attempt, { outcome: 'accepted' }> | undefined {
  return send.attempts.find((a): a is Extract<Attempt, { outcome: 'accepted' }> => a.outcome === 'accepted');
}

export function checkHistory(sends: readonly SendRecord[], history: readonly HistoryMessage[], streams: readonly StreamRecord[]): Verdict {
  const verdict: Verdict = {
    sent: sends.length,
    acknowledged: 0,
    indeterminate: 0,
    lost: [],
    duplicated: [],
    reordered: [],
    inconsistentRetries: [],
    refusedButStored: [],
    historyFaults: [],
    streamFaults: [],
    ok: false,
  };
  const rooms = new Map<string, HistoryMessage[]>();
  const byKey = new Map<string, HistoryMessage[]>();
  for (const m of history) {
    rooms.set(m.roomId, [...(rooms.get(m.roomId) ?? []), m]);
    if (m.clientMessageId !== null) {
      const k = sendKey({ roomId: m.roomId, senderId: m.senderId, key: m.clientMessageId });
      byKey.set(k, [...(byKey.get(k) ?? []), m]);
    }
  }
  for (const [roomId, messages] of rooms) {
    messages.sort((a, b) => a.sequence - b.sequence);
    messages.forEach((m, i) => {
      if (m.sequence !== i + 1) verdict.historyFaults.push(`${roomId}: sequence ${m.sequence} at position ${i + 1}`);
    });
    const ids = new Set(messages.map((m) => m.messageId));
    if (ids.size !== messages.length) verdict.historyFaults.push(`${roomId}: a message id twice`);
  }

  // Each sender's acknowledged sends in one room, in the order they were sent.
  const acknowledgedInOrder = new Map<string, { send: SendRecord; ackAt: number; sequence: number }[]>();
  for (const send of sends) {
    const k = sendKey(send);
    const stored = byKey.get(k) ?? [];
    if (stored.length > 1) verdict.duplicated.push(`${k} stored ${stored.length} times`);
    const ack = acknowledgement(send);
    const answeredIds = new Set(send.attempts.flatMap((a) => (a.outcome === 'accepted' ? [a.messageId] : [])));
    if (answeredIds.size > 1) verdict.inconsistentRetries.push(`${k}: answered ${[...answeredIds].join(', ')}`);
    if (ack) {
      verdict.acknowledged++;
      const mine = stored.find((m) => m.messageId === ack.messageId);
      if (!mine) verdict.lost.push(`${k} (${ack.messageId})`);
      else if (mine.body !== send.body) verdict.lost.push(`${k}: stored with another body`);
      else {
        const list = acknowledgedInOrder.get(`${send.roomId}/${send.senderId}`) ?? [];
        acknowledgedInOrder.set(`${send.roomId}/${send.senderId}`, list);
        list.push({ send, ackAt: ack.at, sequence: mine.sequence });
      }
    } else if (send.attempts.length > 0 && send.attempts.every((a) => a.outcome === 'refused')) {
      if (stored.length > 0) verdict.refusedButStored.push(k);
    } else verdict.indeterminate++;
  }
  for (const [who, list] of acknowledgedInOrder) {
    list.sort((a, b) => a.send.startedAt - b.send.startedAt);
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1]!;
      const after = list[i]!;
      // Only a message acknowledged before the next one was sent is owed a place before it.
      if (before.ackAt <= after.send.startedAt && before.sequence > after.sequence)
        verdict.reordered.push(`${who}: ${before.send.key} (#${before.sequence}) after ${after.send.key} (#${after.sequence})`);
    }
  }

  for (const stream of streams) {
    const expected = (rooms.get(stream.roomId) ?? []).filter((m) => m.sequence > stream.after);
    const got = stream.received;
    const name = `${stream.subscriber} in ${stream.roomId}`;
    const seen = new Set<string>();
    for (const r of got) {
      if (seen.has(r.messageId)) verdict.streamFaults.push(`${name}: #${r.sequence} twice`);
      seen.add(r.messageId);
    }
    for (let i = 0; i < Math.max(expected.length, got.length); i++) {
      const want = expected[i];
      const had = got[i];
      if (want?.messageId === had?.messageId) continue;
      verdict.streamFaults.push(
        `${name}: at position ${i + 1} expected ${want ? `#${want.sequence}` : 'nothing'}, got ${had ? `#${had.sequence}` : 'nothing'}`,
      );
      break; // the first divergence says it; the rest follows from it
    }
  }

  verdict.ok = findings(verdict).length === 0;
  return verdict;
}

/** Everything the checker found wrong, one line each: empty for a run that kept every promise. */
export function findings(verdict: Verdict): string[] {
  return [
    ...verdict.lost.map((x) => `lost: ${x}`),
    ...verdict.duplicated.map((x) => `duplicated: ${x}`),
    ...verdict.reordered.map((x) => `reordered: ${x}`),
    ...verdict.inconsistentRetries.map((x) => `retry answered differently: ${x}`),
    ...verdict.refusedButStored.map((x) => `refused yet stored: ${x}`),
    ...verdict.historyFaults.map((x) => `history: ${x}`),
    ...verdict.streamFaults.map((x) => `stream: ${x}`),
  ];
}
