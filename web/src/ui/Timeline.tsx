import { useMutation } from '@apollo/client/react';
import { useCallback, useEffect, useLayoutEffect, useRef, useSyncExternalStore } from 'react';
import type { RoomHistoryQuery } from '../generated/graphql.ts';
import { MARK_READ } from '../graphql/operations.ts';
import { useChat } from './hooks.ts';
import { MessageItem, PendingItem } from './MessageItem.tsx';

type Room = NonNullable<RoomHistoryQuery['room']>;
export type Message = Room['messages']['edges'][number]['node'];
export interface ReplyTarget {
  id: string;
  senderName: string;
  body: string;
}

/** Near the bottom means the reader follows new messages; further up, they are reading back. */
const FOLLOW_WITHIN_PX = 120;
const LOAD_OLDER_WITHIN_PX = 200;

/**
 * The history of a room, oldest at the top: opens at the newest message, loads older pages as
 * the reader scrolls up (keeping their place), follows new messages while they are at the
 * bottom, and moves the read marker to the newest message they have seen.
 */
export function Timeline(props: {
  roomId: string;
  room: Room;
  myRole: string | null;
  loadingOlder: boolean;
  loadOlder: () => void;
  onReply: (target: ReplyTarget) => void;
}) {
  const { roomId, room, myRole, loadingOlder, loadOlder, onReply } = props;
  const { outbox, session, client } = useChat();
  const messages = room.messages.edges.map((edge) => edge.node);
  const pending = useSyncExternalStore(outbox.subscribe, outbox.all);
  const offline = useSyncExternalStore(client.connection.subscribe, client.connection.get) === 'offline';
  const shown = new Set(messages.map((m) => m.clientMessageId));
  // A queued message shows until its accepted copy arrives with the same idempotency key.
  const waiting = pending.filter((m) => m.roomId === roomId && !shown.has(m.clientMessageId));
  const scroller = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  const heightBefore = useRef<{ first: string | undefined; height: number } | null>(null);
  const firstId = messages[0]?.id;
  const lastId = messages.at(-1)?.id;

  // Keep the reader's place when older messages are put above, and follow new ones at the bottom.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const before = heightBefore.current;
    if (before && before.first !== firstId) element.scrollTop += element.scrollHeight - before.height;
    else if (following.current) element.scrollTop = element.scrollHeight;
    heightBefore.current = { first: firstId, height: element.scrollHeight };
  }, [firstId, lastId, waiting.length]);

  const [markRead] = useMutation(MARK_READ);
  const marked = useRef(0);
  const newest = messages.at(-1);
  // What arrived while the tab was hidden is read when the person comes back to it.
  const visible = useSyncExternalStore(
    (listener) => {
      document.addEventListener('visibilitychange', listener);
      return () => document.removeEventListener('visibilitychange', listener);
    },
    () => document.visibilityState === 'visible',
  );
  // The read marker moves to the newest message once the reader has it in view: at the bottom,
  // in a visible tab.
  const markNewest = useCallback(() => {
    if (!newest || !myRole || newest.sequence <= marked.current || !visible || !following.current) return;
    marked.current = newest.sequence;
    void markRead({ variables: { roomId, upTo: newest.cursor } }).catch(() => (marked.current = 0));
  }, [newest, myRole, roomId, markRead, visible]);
  useEffect(markNewest, [markNewest]);

  function onScroll() {
    const element = scroller.current;
    if (!element) return;
    following.current = element.scrollHeight - element.scrollTop - element.clientHeight < FOLLOW_WITHIN_PX;
    if (following.current) markNewest();
    heightBefore.current = { first: firstId, height: element.scrollHeight };
    if (element.scrollTop < LOAD_OLDER_WITHIN_PX && !loadingOlder) loadOlder();
  }

  return (
    <div className="timeline" ref={scroller} onScroll={onScroll} tabIndex={0} role="log" aria-label="Messages" aria-live="polite">
      {room.messages.pageInfo.hasPreviousPage ? (
        <button type="button" className="link older" onClick={loadOlder} disabled={loadingOlder}>
          {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
        </button>
      ) : (
        <p className="muted start">This is the start of the room.</p>
      )}
      <ol className="messages">
        {messages.map((message) => (
          <MessageItem
            key={message.id}
            message={message}
            roomId={roomId}
            mine={message.senderId === session.userId}
            canModerate={myRole === 'OWNER' || myRole === 'ADMIN'}
            onReply={onReply}
          />
        ))}
        {waiting.map((message) => (
          <PendingItem
            key={message.clientMessageId}
            message={message}
            offline={offline}
            onDiscard={() => outbox.discard(message.clientMessageId)}
          />
        ))}
      </ol>
    </div>
  );
}
