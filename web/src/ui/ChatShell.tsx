import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { useEffect, useSyncExternalStore } from 'react';
import { LOG_OUT, ME, MY_EVENTS, MY_ROOMS } from '../graphql/operations.ts';
import { sessions } from '../client/session.ts';
import { go, useChat, useRoute } from './hooks.ts';
import { describeLiveListEnd } from './refusals.ts';
import { RoomList } from './RoomList.tsx';
import { RoomView } from './RoomView.tsx';
import { BrowseRooms, NewDirect, NewRoom } from './RoomForms.tsx';
import { SearchMessages } from './SearchMessages.tsx';
import { ProfileForm } from './ProfileForm.tsx';
import { Avatar } from './Avatar.tsx';

export const ROOM_LIST_SIZE = 100;

/** The signed-in app: the room list beside the open view; on a phone, one or the other. */
export function ChatShell() {
  const { client } = useChat();
  const route = useRoute();
  const me = useQuery(ME);
  // Right after sign-up the account may not be in the read model yet (`me` is null): ask again
  // until it is.
  const { startPolling, stopPolling } = me;
  const unknownYet = me.data !== undefined && me.data.me === null;
  useEffect(() => {
    if (!unknownYet) return;
    startPolling(500);
    return () => stopPolling();
  }, [unknownYet, startPolling, stopPolling]);
  const rooms = useQuery(MY_ROOMS, { variables: { first: ROOM_LIST_SIZE } });
  const [logOut] = useMutation(LOG_OUT);
  const { refetch } = rooms;

  // Unread counts and last messages arrive on the room entries themselves (normalized); rooms
  // gained or lost, and invitations, change the list, so it is read again.
  const live = useSubscription(MY_EVENTS, {
    onData: ({ data }) => {
      const event = data.data?.myEvents;
      if (event && event.__typename !== 'UnreadChangedEvent') void refetch();
    },
  });
  // myEvents is live from now: after a lost connection, what changed meanwhile is read again.
  useEffect(() => client.connection.onReconnect(() => void client.apollo.refetchQueries({ include: 'active' })), [client]);

  async function signOut() {
    try {
      await logOut();
    } finally {
      sessions.clear();
    }
  }

  const user = me.data?.me;
  return (
    <div className="shell" data-view={route.view === 'home' ? 'list' : 'detail'}>
      <ConnectionBanner />
      <LiveListBanner error={live.error} />
      <nav className="sidebar" aria-label="Rooms and conversations">
        <header className="me">
          {user && <Avatar user={user} />}
          <span className="me-name">{user?.displayName ?? '…'}</span>
          <a className="button small" href="#/profile">
            Profile
          </a>
          <button type="button" className="small" onClick={() => void signOut()}>
            Log out
          </button>
        </header>
        <div className="actions">
          <a className="button small" href="#/new-room">
            New room
          </a>
          <a className="button small" href="#/browse">
            Browse rooms
          </a>
          <a className="button small" href="#/new-direct">
            New direct message
          </a>
          <a className="button small" href="#/search">
            Search
          </a>
        </div>
        <RoomList data={rooms.data} activeRoomId={route.view === 'room' ? route.roomId : null} onChanged={() => void refetch()} />
      </nav>
      <main className="detail">
        {route.view === 'room' && (
          <RoomView key={route.roomId} roomId={route.roomId} onLeft={() => (void refetch(), go({ view: 'home' }))} />
        )}
        {route.view === 'browse' && <BrowseRooms onJoined={(roomId) => (void refetch(), go({ view: 'room', roomId }))} />}
        {route.view === 'new-room' && <NewRoom onCreated={(roomId) => (void refetch(), go({ view: 'room', roomId }))} />}
        {route.view === 'new-direct' && <NewDirect onOpened={(roomId) => (void refetch(), go({ view: 'room', roomId }))} />}
        {route.view === 'search' && <SearchMessages />}
        {route.view === 'profile' && <ProfileForm />}
        {route.view === 'home' && (
          <section className="empty">
            <h1>Welcome{user ? `, ${user.displayName}` : ''}</h1>
            <p>Pick a room, or start one.</p>
          </section>
        )}
      </main>
    </div>
  );
}

/** Said when myEvents ended for good (it is not retried): the list is then fresh only when read again. */
function LiveListBanner({ error }: { error: unknown }) {
  const text = CombinedGraphQLErrors.is(error) ? describeLiveListEnd(error.errors) : null;
  if (!text) return null;
  return (
    <div className="banner" role="status">
      {text}
    </div>
  );
}

function ConnectionBanner() {
  const { client, outbox } = useChat();
  const status = useSyncExternalStore(client.connection.subscribe, client.connection.get);
  const queued = useSyncExternalStore(outbox.subscribe, outbox.all).filter((m) => !m.refused).length;
  if (status !== 'offline') return null;
  return (
    <div className="banner" role="status">
      Offline: reconnecting…{queued > 0 ? ` ${queued} message${queued === 1 ? '' : 's'} will be sent when the connection returns.` : ''}
    </div>
  );
}
