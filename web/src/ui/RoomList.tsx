import { useMutation } from '@apollo/client/react';
import type { MyRoomsQuery } from '../generated/graphql.ts';
import { JOIN_ROOM } from '../graphql/operations.ts';
import { attachmentSummary } from './Attachments.tsx';
import { go, useChat } from './hooks.ts';

type RoomNode = MyRoomsQuery['myRooms']['edges'][number]['node'];

/** A direct room has no name: it is shown as the other person. */
export function roomTitle(
  room: { name: string; kind: string; members?: { edges: { node: { userId: string; user: { displayName: string } | null } }[] } | null },
  myId: string,
): string {
  if (room.kind !== 'DIRECT') return room.name;
  const other = room.members?.edges.find((edge) => edge.node.userId !== myId)?.node.user;
  return other?.displayName ?? 'Direct message';
}

export function RoomList({
  data,
  activeRoomId,
  onChanged,
}: {
  data: MyRoomsQuery | undefined;
  activeRoomId: string | null;
  onChanged: () => void;
}) {
  const { session } = useChat();
  const [joinRoom] = useMutation(JOIN_ROOM);
  if (!data) return <p className="muted pad">Loading rooms…</p>;
  const rooms = data.myRooms.edges.map((edge) => edge.node);
  const groups = rooms.filter((room) => room.kind === 'GROUP');
  const directs = rooms.filter((room) => room.kind === 'DIRECT');
  return (
    <>
      {data.myInvitations.length > 0 && (
        <section aria-labelledby="invitations-title">
          <h2 id="invitations-title">Invitations</h2>
          <ul className="rooms">
            {data.myInvitations.map((invitation) =>
              invitation.room ? (
                <li key={invitation.room.id} className="invitation">
                  <span>
                    <strong>{invitation.room.name}</strong>
                    <span className="muted"> from {invitation.invitedBy?.displayName ?? 'someone'}</span>
                  </span>
                  <button
                    type="button"
                    className="small"
                    onClick={async () => {
                      const roomId = invitation.room!.id;
                      const { data: joined } = await joinRoom({ variables: { roomId } });
                      if (joined?.joinRoom?.__typename === 'RoomAccepted') {
                        onChanged();
                        go({ view: 'room', roomId });
                      }
                    }}
                  >
                    Join
                  </button>
                </li>
              ) : null,
            )}
          </ul>
        </section>
      )}
      <RoomGroup
        title="Rooms"
        rooms={groups}
        activeRoomId={activeRoomId}
        myId={session.userId}
        empty="No rooms yet: create one or browse."
      />
      <RoomGroup
        title="Direct messages"
        rooms={directs}
        activeRoomId={activeRoomId}
        myId={session.userId}
        empty="No direct messages yet."
      />
    </>
  );
}

function RoomGroup({
  title,
  rooms,
  activeRoomId,
  myId,
  empty,
}: {
  title: string;
  rooms: RoomNode[];
  activeRoomId: string | null;
  myId: string;
  empty: string;
}) {
  const id = `rooms-${title.replace(/\W/g, '-').toLowerCase()}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {rooms.length === 0 ? (
        <p className="muted pad">{empty}</p>
      ) : (
        <ul className="rooms">
          {rooms.map((room) => {
            const name = roomTitle(room, myId);
            const last = room.lastMessage;
            return (
              <li key={room.id}>
                <a
                  href={`#/room/${encodeURIComponent(room.id)}`}
                  className="room-link"
                  aria-current={room.id === activeRoomId ? 'page' : undefined}
                >
                  <span className="room-name">{name}</span>
                  {room.unreadCount > 0 && (
                    <span className={room.unreadMentions > 0 ? 'badge mention' : 'badge'} data-testid="unread">
                      {room.unreadCount}
                      <span className="visually-hidden"> unread</span>
                    </span>
                  )}
                  <span className="room-last muted">
                    {last
                      ? `${last.sender?.displayName ?? ''}: ${last.deleted ? 'message deleted' : last.body || attachmentSummary(last.attachments)}`
                      : (room.topic ?? '')}
                  </span>
                </a>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
