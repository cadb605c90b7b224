import { useQuery } from '@apollo/client/react';
import { useState } from 'react';
import type { UsersQuery } from '../generated/graphql.ts';
import { USERS } from '../graphql/operations.ts';
import { Avatar } from './Avatar.tsx';
import { useDebounced } from './hooks.ts';

type FoundUser = UsersQuery['users'][number];

/** Find people by username or display name; each found one gets the given action. */
export function UserSearch({
  label,
  action,
  onPick,
  exclude = [],
}: {
  label: string;
  action: string;
  onPick: (user: FoundUser) => void;
  exclude?: string[];
}) {
  const [search, setSearch] = useState('');
  const settled = useDebounced(search.trim());
  const found = useQuery(USERS, { variables: { search: settled }, skip: settled.length === 0 });
  const users = (found.data?.users ?? []).filter((user) => !exclude.includes(user.id));
  return (
    <div className="user-search">
      <label>
        {label}
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} maxLength={64} placeholder="Name or username" />
      </label>
      {settled && found.data && users.length === 0 && <p className="muted">Nobody found.</p>}
      <ul className="people">
        {users.map((user) => (
          <li key={user.id}>
            <Avatar user={user} size={24} />
            <span>
              {user.displayName} <span className="muted">@{user.username}</span>
            </span>
            <button
              type="button"
              className="small"
              onClick={() => {
                onPick(user);
                setSearch('');
              }}
              aria-label={`${action} ${user.displayName}`}
            >
              {action}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
