import type { ApolloCache, Reference } from '@apollo/client';
import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { useEffect, useRef, useState, type DragEvent } from 'react';
import type { RoomEventsSubscription } from '../generated/graphql.ts';
import { LEAVE_ROOM, MESSAGE_FIELDS, ROOM_HISTORY, ROOM_EVENTS, ROOM_MEMBERS, TYPING } from '../graphql/operations.ts';
import { describeRefusal, go, useChat } from './hooks.ts';
import { Timeline, type ReplyTarget } from './Timeline.tsx';
import { Composer } from './Composer.tsx';
import { MembersPanel } from './MembersPanel.tsx';
import { roomTitle } from './RoomList.tsx';
import { Problem } from './Problem.tsx';

export const PAGE_SIZE = 50;

/**
 * One room: its newest page of history, then every change after it, live. The subscription
 * starts at the room's event cursor as the history query read it, so nothing falls between
 * the two; after a lost connection it resumes from the last event received (ResumingWsLink).
 */
export function RoomView({ roomId, onLeft }: { roomId: string; onLeft: () => void }) {
  const { session, client, uploads } = useChat();
  const history = useQuery(ROOM_HISTORY, { variables: { roomId, last: PAGE_SIZE }, notifyOnNetworkStatusChange: true });
  const members = useQuery(ROOM_MEMBERS, { variables: { roomId, first: 100 }, pollInterval: 30_000 });
  const [showMembers, setShowMembers] = useState(false);
  const [replyTo, setReplyTo] = useState<ReplyTarget | null>(null);
  const [leaveRoom] = useMutation(LEAVE_ROOM);
  const [problem, setProblem] = useState<string | null>(null);
  // The cursor the live events start from: the first answer's, kept for the life of this view.
  const [startCursor, setStartCursor] = useState<string | null>(null);
  const room = history.data?.room;
  if (room && startCursor === null) setStartCursor(room.eventCursor);

  useSubscription(ROOM_EVENTS, {
    variables: { roomId, after: startCursor },
    skip: startCursor === null,
    onData: ({ data }) => {
      const event = data.data?.roomEvents;
      if (!event) return;
      applyRoomEvent(client.apollo.cache, roomId, event, session.userId);
      if (
        'userId' in event &&
        event.__typename !== 'MemberRoleChangedEvent' &&
        event.__typename !== 'MemberJoinedEvent' &&
        event.userId === session.userId
      ) {
        onLeft(); // our own leaving or removal is the room's last event for us
        return;
      }
      if (event.__typename.startsWith('Member')) void members.refetch();
      // Many messages became tombstones at once (a deleted account's, or the room's expired history).
      if (event.__typename === 'MemberErasedEvent' || event.__typename === 'RoomHistoryExpiredEvent') void history.refetch();
    },
  });
  const typing = useSubscription(TYPING, { variables: { roomId } });
  const drop = useFileDrop(Boolean(room?.myRole), (files) => uploads.add(roomId, files));

  if (history.error && !room) return <p className="pad problem">This room cannot be shown right now.</p>;
  if (!history.data) return <p className="pad muted">Loading…</p>;
  if (!room) return <p className="pad">This room does not exist, or you cannot see it.</p>;
  // The last list read stays shown while a refresh fails (offline, say).
  const memberConnection = (members.data ?? members.previousData)?.room?.members ?? null;
  const memberList = memberConnection?.edges.map((edge) => edge.node) ?? [];
  const title = roomTitle({ ...room, members: memberConnection }, session.userId);
  const other = room.kind === 'DIRECT' ? memberList.find((m) => m.userId !== session.userId) : undefined;
  const typers = (typing.data?.typing.users ?? []).filter((user) => user.id !== session.userId);

  async function leave() {
    const { data } = await leaveRoom({ variables: { roomId } });
    const result = data?.leaveRoom;
    if (result?.__typename === 'CommandError') setProblem(describeRefusal(result));
    else onLeft();
  }

  return (
    <div className="room" data-members={showMembers ? 'open' : 'closed'} {...drop.handlers}>
      <header className="room-header">
        <button type="button" className="back small" onClick={() => go({ view: 'home' })} aria-label="Back to rooms">
          ←
        </button>
        <div className="room-title">
          <h1>{title}</h1>
          <p className="muted">
            {other ? (
              <span data-testid="presence">
                {other.user?.presence.status === 'ONLINE' ? '● online' : other.user?.presence.status === 'AWAY' ? '◐ away' : '○ offline'}
              </span>
            ) : (
              room.topic
            )}
          </p>
        </div>
        {room.kind === 'GROUP' && (
          <button
            type="button"
            className="small"
            aria-expanded={showMembers}
            aria-controls="members"
            onClick={() => setShowMembers(!showMembers)}
          >
            Members{memberConnection ? ` (${memberList.length})` : ''}
          </button>
        )}
        {room.myRole && room.kind === 'GROUP' && (
          <button type="button" className="small" onClick={() => void leave()}>
            Leave
          </button>
        )}
      </header>
      <Problem text={problem} className="pad" />
      <Timeline
        roomId={roomId}
        room={room}
        myRole={room.myRole ?? null}
        loadingOlder={history.networkStatus === 3}
        loadOlder={() => {
          const before = room.messages.pageInfo.startCursor;
          if (before && room.messages.pageInfo.hasPreviousPage) void history.fetchMore({ variables: { before } });
        }}
        onReply={setReplyTo}
      />
      <p className="typing muted" aria-live="polite">
        {typers.length === 1
          ? `${typers[0]!.displayName} is typing…`
          : typers.length > 1
            ? `${typers.map((u) => u.displayName).join(', ')} are typing…`
            : ' '}
      </p>
      {room.myRole ? (
        <Composer roomId={roomId} replyTo={replyTo} onCancelReply={() => setReplyTo(null)} />
      ) : (
        <p className="pad muted">You are not a member of this room.</p>
      )}
      {drop.dragging && (
        <div className="drop-zone" aria-hidden="true">
          Drop files to attach them
        </div>
      )}
      {showMembers && (
        <MembersPanel roomId={roomId} myRole={room.myRole ?? null} members={memberList} onChanged={() => void members.refetch()} />
      )}
    </div>
  );
}

const hasFiles = (event: { dataTransfer: DataTransfer | null }) => event.dataTransfer?.types.includes('Files') ?? false;

/**
 * Files dragged from the desktop onto the room (timeline or composer) are attached to the
 * message being written, for members. A file dropped anywhere else on the page is ignored
 * rather than opened by the browser in place of the chat.
 */
function useFileDrop(enabled: boolean, onFiles: (files: File[]) => void) {
  const [dragging, setDragging] = useState(false);
  // dragenter and dragleave come for every child crossed: the drag is over the room until as many leaves as enters.
  const depth = useRef(0);
  useEffect(() => {
    const ignore = (event: globalThis.DragEvent) => hasFiles(event) && event.preventDefault();
    window.addEventListener('dragover', ignore);
    window.addEventListener('drop', ignore);
    return () => {
      window.removeEventListener('dragover', ignore);
      window.removeEventListener('drop', ignore);
    };
  }, []);
  if (!enabled) return { dragging: false, handlers: {} };
  return {
    dragging,
    handlers: {
      onDragEnter: (event: DragEvent) => {
        if (!hasFiles(event)) return;
        event.preventDefault();
        depth.current += 1;
        setDragging(true);
      },
      onDragOver: (event: DragEvent) => {
        if (!hasFiles(event)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
        setDragging(true);
      },
      onDragLeave: (event: DragEvent) => {
        if (!hasFiles(event)) return;
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setDragging(false);
      },
      onDrop: (event: DragEvent) => {
        if (!hasFiles(event)) return;
        event.preventDefault();
        depth.current = 0;
        setDragging(false);
        if (event.dataTransfer.files.length > 0) onFiles(Array.from(event.dataTransfer.files));
      },
    },
  };
}

type RoomEvent = RoomEventsSubscription['roomEvents'];

/**
 * What a live event changes in the cache. Messages are normalized, so an edit, a deletion or a
 * reaction is already in place once the event is written; a new message is also added to the
 * room's history (once: a message already there is not added again) and becomes its last; a
 * change of the reader's own role changes what the room view offers them.
 */
function applyRoomEvent(cache: ApolloCache, roomId: string, event: RoomEvent, myId: string): void {
  const id = cache.identify({ __typename: 'Room', id: roomId });
  if (event.__typename === 'MessageSentEvent' && event.message) {
    const message = event.message;
    const ref = cache.writeFragment({ fragment: MESSAGE_FIELDS, fragmentName: 'MessageFields', data: message });
    if (!ref) return;
    cache.modify<Record<string, unknown>>({
      id,
      fields: {
        messages(existing: unknown) {
          const page = existing as { edges: { node: Reference }[] } | undefined;
          if (!page || page.edges.some((edge) => edge.node.__ref === ref.__ref)) return existing;
          return { ...page, edges: [...page.edges, { __typename: 'MessageEdge', cursor: message.cursor, node: ref }] };
        },
        lastMessage: () => ref,
        lastSequence: (last: unknown) => Math.max(Number(last) || 0, message.sequence),
      },
    });
  } else if (event.__typename === 'MemberRoleChangedEvent' && event.userId === myId && event.role) {
    // Made an admin (or no longer one): what this person may do in the room changes at once.
    const role = event.role;
    cache.modify<Record<string, unknown>>({ id, fields: { myRole: () => role } });
  } else if (event.__typename === 'RoomRenamedEvent') {
    cache.modify<Record<string, unknown>>({ id, fields: { name: () => event.name ?? '' } });
  } else if (event.__typename === 'RoomTopicChangedEvent') {
    cache.modify<Record<string, unknown>>({ id, fields: { topic: () => event.topic ?? null } });
  }
}
