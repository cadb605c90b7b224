import { Repeater } from 'graphql-yoga';
import type { LiveSignal } from '../adapters/fanout.ts';
import type { TypingSignal } from '../adapters/typing.ts';
import { leaves } from './live-messages.ts';

// Who else is typing in a room, for one subscriber: the list as it changes, each typist
// dropped when their few seconds run out without another signal. Ends when the subscriber
// leaves the room or is removed from it.

export interface TypingSource {
  current(roomId: string): Promise<Map<string, number>>;
  subscribeTyping(roomId: string, listener: (signal: TypingSignal) => void): () => void;
  /** The room's events: the subscriber's leaving or removal ends the stream. */
  subscribe(roomId: string, listener: (signal: LiveSignal) => void): () => void;
}

export function typingUsers(source: TypingSource, roomId: string, selfId: string): Repeater<string[]> {
  return new Repeater<string[]>(async (push, stop) => {
    const until = new Map<string, number>();
    const timers = new Map<string, NodeJS.Timeout>();
    let last = '';
    const publish = () => {
      const list = [...until.keys()].filter((id) => id !== selfId).sort();
      const key = list.join(',');
      if (key === last) return;
      last = key;
      void push(list);
    };
    const apply = (userId: string, at: number) => {
      clearTimeout(timers.get(userId));
      timers.delete(userId);
      if (at <= Date.now()) until.delete(userId);
      else {
        until.set(userId, at);
        timers.set(
          userId,
          setTimeout(() => {
            until.delete(userId);
            timers.delete(userId);
            publish();
          }, at - Date.now()),
        );
      }
    };
    const unsubscribe = source.subscribeTyping(roomId, (signal) => {
      apply(signal.userId, signal.until);
      publish();
    });
    const unsubscribeRoom = source.subscribe(roomId, (signal) => {
      if (signal !== 'resync' && leaves(signal, selfId)) stop();
    });
    try {
      for (const [userId, at] of await source.current(roomId)) if (!until.has(userId)) apply(userId, at);
      last = '-'; // always send the first state, even when nobody types
      publish();
    } catch (error) {
      stop(error);
    }
    await stop;
    unsubscribe();
    unsubscribeRoom();
    for (const timer of timers.values()) clearTimeout(timer);
  });
}
