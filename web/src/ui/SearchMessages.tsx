import { useQuery } from '@apollo/client/react';
import { useState } from 'react';
import { SEARCH_MESSAGES } from '../graphql/operations.ts';
import { useDebounced } from './hooks.ts';

/** Full-text search over the messages of the caller's rooms, best match first. */
export function SearchMessages() {
  const [query, setQuery] = useState('');
  const settled = useDebounced(query.trim(), 350);
  const results = useQuery(SEARCH_MESSAGES, { variables: { query: settled, first: 30 }, skip: !settled });
  const hits = results.data?.searchMessages.edges ?? [];
  return (
    <section className="panel" aria-labelledby="search-title">
      <h1 id="search-title">Search messages</h1>
      <label>
        Words or "a phrase"
        <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} maxLength={200} />
      </label>
      {settled && results.data && hits.length === 0 && <p className="muted">No messages match.</p>}
      <ul className="hits">
        {hits.map(({ node }) => (
          <li key={node.id}>
            <a href={`#/room/${encodeURIComponent(node.roomId)}`}>
              <span className="muted">
                {node.room?.name || 'Direct message'} · {node.sender?.displayName} · {new Date(node.sentAt).toLocaleString()}
              </span>
              <span className="hit-body">{node.body}</span>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
