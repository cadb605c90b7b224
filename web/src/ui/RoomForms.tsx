import { useMutation, useQuery } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import type { Visibility } from '../generated/graphql.ts';
import { CREATE_ROOM, JOIN_ROOM, OPEN_DIRECT, PUBLIC_ROOMS } from '../graphql/operations.ts';
import { describeRefusal, go, useChat, useDebounced } from './hooks.ts';
import { UserSearch } from './UserSearch.tsx';
import { Problem } from './Problem.tsx';

type RoomResult =
  | { __typename: 'RoomAccepted'; roomId: string | null }
  | { __typename: 'CommandError'; code: string | null; message: string | null; retryAfterSeconds: number | null };

/** The room a command answered with, or the refusal shown to the person. */
function accepted(result: RoomResult | null | undefined, refuse: (line: string) => void): string | null {
  if (result?.__typename === 'RoomAccepted' && result.roomId) return result.roomId;
  refuse(result?.__typename === 'CommandError' ? describeRefusal(result) : 'That did not work; try again.');
  return null;
}

export function BrowseRooms({ onJoined }: { onJoined: (roomId: string) => void }) {
  const [search, setSearch] = useState('');
  const settled = useDebounced(search.trim());
  const rooms = useQuery(PUBLIC_ROOMS, { variables: { search: settled || null, first: 50 } });
  const [joinRoom] = useMutation(JOIN_ROOM);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <section className="panel" aria-labelledby="browse-title">
      <h1 id="browse-title">Public rooms</h1>
      <label>
        Search by name
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} maxLength={100} />
      </label>
      <Problem text={problem} />
      <ul className="people">
        {rooms.data?.publicRooms.edges.map(({ node: room }) => (
          <li key={room.id}>
            <span>
              <strong>{room.name}</strong> <span className="muted">{room.topic}</span>
            </span>
            {room.myRole ? (
              <button type="button" className="small" onClick={() => go({ view: 'room', roomId: room.id })}>
                Open
              </button>
            ) : (
              <button
                type="button"
                className="small"
                aria-label={`Join ${room.name}`}
                onClick={async () => {
                  const { data } = await joinRoom({ variables: { roomId: room.id } });
                  const roomId = accepted(data?.joinRoom, setProblem);
                  if (roomId) onJoined(roomId);
                }}
              >
                Join
              </button>
            )}
          </li>
        ))}
      </ul>
      {rooms.data && rooms.data.publicRooms.edges.length === 0 && <p className="muted">No public rooms match.</p>}
    </section>
  );
}

export function NewRoom({ onCreated }: { onCreated: (roomId: string) => void }) {
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [visibility, setVisibility] = useState<Visibility>('PUBLIC');
  const [problem, setProblem] = useState<string | null>(null);
  // One id per form: a create retried after a lost answer makes one room, not two.
  const [commandId] = useState(() => crypto.randomUUID());
  const [createRoom, { loading }] = useMutation(CREATE_ROOM);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    const { data } = await createRoom({ variables: { name: name.trim(), topic: topic.trim() || null, visibility, commandId } });
    const roomId = accepted(data?.createRoom, setProblem);
    if (roomId) onCreated(roomId);
  }
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="new-room-title">
      <h1 id="new-room-title">New room</h1>
      <label>
        Name
        <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Topic <span className="hint">(optional)</span>
        <input maxLength={500} value={topic} onChange={(e) => setTopic(e.target.value)} />
      </label>
      <fieldset>
        <legend>Who can join</legend>
        <label className="inline">
          <input type="radio" name="visibility" checked={visibility === 'PUBLIC'} onChange={() => setVisibility('PUBLIC')} /> Anyone
          (public)
        </label>
        <label className="inline">
          <input type="radio" name="visibility" checked={visibility === 'PRIVATE'} onChange={() => setVisibility('PRIVATE')} /> Invited
          people only (private)
        </label>
      </fieldset>
      <Problem text={problem} />
      <button type="submit" className="primary" disabled={loading}>
        Create room
      </button>
    </form>
  );
}

export function NewDirect({ onOpened }: { onOpened: (roomId: string) => void }) {
  const { session } = useChat();
  const [openDirect] = useMutation(OPEN_DIRECT);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <section className="panel" aria-labelledby="new-direct-title">
      <h1 id="new-direct-title">New direct message</h1>
      <UserSearch
        label="Find a person"
        action="Message"
        exclude={[session.userId]}
        onPick={async (user) => {
          const { data } = await openDirect({ variables: { userId: user.id, commandId: crypto.randomUUID() } });
          const roomId = accepted(data?.openDirect, setProblem);
          if (roomId) onOpened(roomId);
        }}
      />
      <Problem text={problem} />
    </section>
  );
}
