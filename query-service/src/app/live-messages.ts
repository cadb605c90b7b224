import type { MessageView, RoomEventView } from '@chat/schemas';
import type { LiveSignal } from '../adapters/fanout.ts';
import { LiveQueue } from './live-queue.ts';

// A room's messages for one subscriber: first everything after the client's cursor from
// Postgres, then live from Redis, switching over with no gap and no duplicate. Sequences are
// gap-free per room, so a live message that skips ahead means notifications were lost, and
// the gap is filled from Postgres before it is delivered. A subscriber who leaves or is
// removed stops receiving at once: the notification ends the stream with NOT_A_MEMBER, and
// before any catch-up from Postgres (where a lost notification could hide) membership is
// checked again.

export interface MessageSource {
  messagesAfter(roomId: string, after: number, limit: number): Promise<MessageView[]>;
  lastSequence(roomId: string): Promise<number>;
  subscribe(roomId: string, listener: (signal: LiveSignal) => void): () => void;
  isMember(roomId: string, userId: string): Promise<boolean>;
}

export class NoLongerMemberError extends Error {
  override name = 'NoLongerMemberError';
}

const PAGE = 200;

export function liveMessages(
  source: MessageSource,
  roomId: string,
  userId: string,
  after: number | null,
): AsyncIterableIterator<MessageView> {
  return new LiveQueue<MessageView>((queue) => {
    let last = 0;
    // Subscribe before reading history, so nothing committed in between is missed; every
    // step runs after the one before (queue.then) so deliveries keep sequence order.
    const fillUpTo = async (upTo: number) => {
      while (last < upTo && !queue.closed) {
        const page = await source.messagesAfter(roomId, last, Math.min(PAGE, upTo - last));
        if (page.length === 0) return;
        for (const message of page) {
          const full = queue.push(message);
          last = message.sequence;
          if (full) await full;
        }
      }
    };
    const stillMember = async () => {
      if (!(await source.isMember(roomId, userId))) throw new NoLongerMemberError('you are no longer a member of this room');
    };
    const deliver = async (signal: LiveSignal) => {
      if (signal === 'resync') {
        await stillMember();
        return fillUpTo(Number.MAX_SAFE_INTEGER);
      }
      if (leaves(signal, userId)) throw new NoLongerMemberError('you are no longer a member of this room');
      const message = signal.message;
      if (!message || message.sequence <= last) return;
      if (message.sequence > last + 1) {
        await stillMember();
        await fillUpTo(message.sequence - 1);
      }
      if (message.sequence === last + 1) {
        const full = queue.push(message);
        last = message.sequence;
        if (full) await full;
      }
    };
    const unsubscribe = source.subscribe(roomId, (signal) => {
      // The usual case, with nothing in flight: the next message in order, or an event that
      // carries none, is handled at once rather than as one more step on the chain.
      if (queue.idle && signal !== 'resync' && !leaves(signal, userId)) {
        const message = signal.message;
        if (!message || message.sequence <= last) return;
        if (message.sequence === last + 1) {
          last = message.sequence;
          // Live and in order: it may skip the reader (a replay or a gap's fill never does).
          const full = queue.pushLive(message);
          if (full) queue.run(() => full);
          return;
        }
      }
      queue.run(() => deliver(signal));
    });
    queue.run(async () => {
      last = after ?? (await source.lastSequence(roomId));
      await fillUpTo(Number.MAX_SAFE_INTEGER);
    });
    return unsubscribe;
  });
}

/** Whether a room event takes `userId` out of the room. */
export function leaves(event: RoomEventView, userId: string): boolean {
  return (event.type === 'MemberLeft' || event.type === 'MemberRemoved' || event.type === 'MemberErased') && event.data.userId === userId;
}
