import type { RoomEventView } from '@chat/schemas';
import type { LiveSignal } from '../adapters/fanout.ts';
import { leaves } from './live-messages.ts';
import { LiveQueue } from './live-queue.ts';

// Every change of one room for one member, by revision: first everything after the client's
// cursor from Postgres (room_events), then live from Redis, switching over with no gap and no
// duplicate. A live event that skips ahead means notifications were lost: the gap is filled
// from Postgres first (revisions the log itself skipped are simply not there). The member's
// own leaving or removal is delivered, and ends the stream.

export interface RoomEventSource {
  eventsAfter(roomId: string, after: number, limit: number): Promise<RoomEventView[]>;
  lastRevision(roomId: string): Promise<number>;
  subscribe(roomId: string, listener: (signal: LiveSignal) => void): () => void;
  isMember(roomId: string, userId: string): Promise<boolean>;
}

const PAGE = 200;

export function liveRoomEvents(
  source: RoomEventSource,
  roomId: string,
  userId: string,
  after: number | null,
): AsyncIterableIterator<RoomEventView> {
  return new LiveQueue<RoomEventView>((queue) => {
    let last = 0;
    /** Hands on the next event (`live`: as it happens, at the live edge); a promise when the reader is behind. */
    const hand = (event: RoomEventView, live = false): Promise<void> | undefined => {
      if (queue.closed || event.revision <= last) return undefined;
      const full = live ? queue.pushLive(event) : queue.push(event);
      last = event.revision;
      if (leaves(event, userId)) queue.end();
      return full;
    };
    const fillUpTo = async (upTo: number) => {
      while (!queue.closed && last < upTo) {
        const limit = Math.min(PAGE, upTo - last);
        const page = await source.eventsAfter(roomId, last, limit);
        for (const event of page) await hand(event);
        if (page.length < limit) return;
      }
    };
    const onSignal = async (signal: LiveSignal) => {
      if (signal === 'resync' || signal.revision > last + 1) {
        // Catching up from Postgres, where a lost "you were removed" could hide: check first.
        if (!(await source.isMember(roomId, userId))) return queue.end();
        await fillUpTo(signal === 'resync' ? Number.MAX_SAFE_INTEGER : signal.revision - 1);
      }
      if (signal !== 'resync') await hand(signal);
    };
    const unsubscribe = source.subscribe(roomId, (signal) => {
      // The usual case, with nothing in flight: the next revision is delivered at once (live,
      // so it may skip the reader; a replay or a gap's fill never does).
      if (queue.idle && signal !== 'resync' && signal.revision <= last + 1) {
        const full = hand(signal, true);
        if (full) queue.run(() => full);
        return;
      }
      queue.run(() => onSignal(signal));
    });
    queue.run(async () => {
      last = after ?? (await source.lastRevision(roomId));
      await fillUpTo(Number.MAX_SAFE_INTEGER);
    });
    return unsubscribe;
  });
}
