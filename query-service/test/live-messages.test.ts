import { describe, expect, it } from 'vitest';
import type { MessageView, RoomEventView } from '@chat/schemas';
import type { LiveSignal } from '../src/adapters/fanout.ts';
import { liveMessages, type MessageSource } from '../src/app/live-messages.ts';

// The replay-then-live merge on its own, fed by a scripted source: what it must guarantee is
// order, no gap and no duplicate, whatever order history and live notifications arrive in.

const ROOM = 'r';
const msg = (sequence: number): MessageView => ({
  roomId: ROOM,
  sequence,
  messageId: `m${sequence}`,
  senderId: 'u',
  clientMessageId: `c${sequence}`,
  body: `b${sequence}`,
  sentAt: sequence,
  replyTo: null,
  editedAt: null,
  deleted: false,
  format: 'PLAIN',
  attachments: [],
});

/** The notification the projector publishes for a message. */
const sent = (message: MessageView): RoomEventView => ({
  roomId: ROOM,
  revision: message.sequence + 1,
  type: 'MessageSent',
  actorId: message.senderId,
  occurredAt: message.sentAt,
  data: { messageId: message.messageId },
  message,
});
const left = (userId: string): RoomEventView => ({
  roomId: ROOM,
  revision: 99,
  type: 'MemberLeft',
  actorId: userId,
  occurredAt: 0,
  data: { userId },
});

function scriptedSource(history: MessageView[]) {
  const member = { current: true };
  let listener: ((signal: LiveSignal) => void) | undefined;
  const source: MessageSource = {
    messagesAfter: async (_room, after, limit) => history.filter((m) => m.sequence > after).slice(0, limit),
    lastSequence: async () => history.at(-1)?.sequence ?? 0,
    subscribe: (_room, l) => {
      listener = l;
      return () => (listener = undefined);
    },
    isMember: async () => member.current,
  };
  const emit = (signal: MessageView | RoomEventView | 'resync') =>
    listener?.(signal === 'resync' || 'type' in signal ? signal : sent(signal));
  return { source, emit, history, member };
}

async function take(iterator: AsyncIterator<MessageView>, count: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < count) out.push((await iterator.next()).value.sequence);
  return out;
}

describe('live messages', () => {
  it('replays after the cursor, then goes live, dropping what replay already delivered', async () => {
    const s = scriptedSource([msg(1), msg(2), msg(3)]);
    const stream = liveMessages(s.source, ROOM, 'u', 1);
    const first = take(stream, 2);
    s.emit(msg(3)); // raced with the replay: must not come twice
    expect(await first).toEqual([2, 3]);
    s.history.push(msg(4));
    s.emit(msg(4));
    expect(await take(stream, 1)).toEqual([4]);
    await stream.return?.(undefined);
  });

  it('fills a gap in live notifications from history', async () => {
    const s = scriptedSource([msg(1)]);
    const stream = liveMessages(s.source, ROOM, 'u', null); // from the live edge: nothing replayed
    const received = take(stream, 3); // a subscription starts on its first read
    await new Promise((r) => setTimeout(r, 10));
    s.history.push(msg(2), msg(3), msg(4));
    s.emit(msg(4)); // 2 and 3 were never announced
    expect(await received).toEqual([2, 3, 4]);
    await stream.return?.(undefined);
  });

  it('re-reads history on resync after Redis reconnects', async () => {
    const s = scriptedSource([]);
    const stream = liveMessages(s.source, ROOM, 'u', 0);
    const received = take(stream, 2);
    await new Promise((r) => setTimeout(r, 10));
    s.history.push(msg(1), msg(2));
    s.emit('resync');
    expect(await received).toEqual([1, 2]);
    await stream.return?.(undefined);
  });

  it('ends the stream when the subscriber leaves, and checks membership before any catch-up', async () => {
    const s = scriptedSource([msg(1)]);
    const stream = liveMessages(s.source, ROOM, 'u', 0);
    expect(await take(stream, 1)).toEqual([1]);
    s.emit(left('someone else'));
    s.history.push(msg(2));
    s.emit(msg(2));
    expect(await take(stream, 1)).toEqual([2]);
    s.emit(left('u'));
    await expect(stream.next()).rejects.toThrow(/no longer a member/);

    // A lost notification: the gap before message 4 is filled only after membership is checked.
    const t = scriptedSource([msg(1), msg(2)]);
    const later = liveMessages(t.source, ROOM, 'u', null); // from the live edge: after 2
    const next = later.next();
    await new Promise((resolve) => setTimeout(resolve, 10)); // subscribed and at the edge
    t.history.push(msg(3), msg(4));
    t.member.current = false;
    t.emit(msg(4)); // 3's notification was lost
    await expect(next).rejects.toThrow(/no longer a member/);
  });
});
