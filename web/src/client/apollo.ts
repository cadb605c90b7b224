import { ApolloClient, ApolloLink, HttpLink } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient, type Client } from 'graphql-ws';
import { REFRESH_TOKEN } from '../graphql/operations.ts';
import { createCache } from './cache.ts';
import { ConnectionState } from './connection.ts';
import { ResumingWsLink } from './resuming-ws-link.ts';
import { sessions, type Session } from './session.ts';

// The GraphQL client: queries and mutations over HTTP, subscriptions over graphql-ws, both on
// the page's own origin at /graphql, each carrying the session's (fresh) access token.

const HTTP_URL = '/graphql';
const WS_URL = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
/** A ping every 10 s; no pong within 5 s means the network is gone (a sleeping laptop, a dead Wi-Fi). */
const PING_EVERY_MS = 10_000;
const PONG_WITHIN_MS = 5_000;

export interface ChatClient {
  apollo: ApolloClient;
  ws: Client;
  connection: ConnectionState;
  dispose(): void;
}

export function createChatClient(): ChatClient {
  const connection = new ConnectionState();
  const ws = createLiveClient(() => connection.lost());
  const stopWatching = connection.watch(ws);
  const auth = new SetContextLink(async (previous) => {
    const token = previous.anonymous ? null : await sessions.accessToken();
    return { headers: { ...previous.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } };
  });
  const http = auth.concat(new HttpLink({ uri: HTTP_URL }));
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new ResumingWsLink(ws),
    http,
  );
  const apollo = new ApolloClient({ link, cache: createCache() });
  sessions.useRefresh(async (refreshToken) => {
    const { data } = await apollo.mutate({ mutation: REFRESH_TOKEN, variables: { refreshToken }, context: { anonymous: true } });
    const result = data?.refreshToken;
    return result?.__typename === 'Session' ? toSession(result) : 'refused';
  });
  return {
    apollo,
    ws,
    connection,
    dispose() {
      stopWatching();
      void ws.dispose();
      apollo.stop();
    },
  };
}

// graphql-ws rejects a reconnect that it was waiting to make once no subscription is left (as
// at log-out, when the server has closed the socket of the ended session), and nothing awaits
// that promise: it is the client ending, not an error.
window.addEventListener('unhandledrejection', (event) => {
  const reason = event.reason as { code?: unknown; reason?: unknown } | null;
  if (reason?.code === 1000 && reason.reason === 'All Subscriptions Gone') event.preventDefault();
});

function createLiveClient(onLost: () => void): Client {
  let socket: WebSocket | undefined;
  let pongDue: ReturnType<typeof setTimeout> | undefined;
  return createClient({
    url: WS_URL,
    // Read at every (re)connect, so a reconnect after a refresh carries the new token.
    connectionParams: async () => {
      const token = await sessions.accessToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    // A chat never gives up on its connection: retry forever, at most 8 s apart.
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      await new Promise((resolve) => setTimeout(resolve, Math.min(8000, 500 * 2 ** retries) * (0.5 + Math.random() / 2)));
    },
    keepAlive: PING_EVERY_MS,
    on: {
      connected: (opened) => (socket = opened as WebSocket),
      ping: (received) => {
        if (received) return;
        pongDue = setTimeout(() => {
          if (socket?.readyState !== WebSocket.OPEN) return;
          onLost();
          socket.close(4408, 'no pong');
        }, PONG_WITHIN_MS);
      },
      pong: (received) => {
        if (received) clearTimeout(pongDue);
      },
    },
  });
}

export function toSession(result: {
  userId: string | null;
  username: string | null;
  accessToken: string | null;
  accessTokenExpiresAt: string | null;
  refreshToken: string | null;
}): Session {
  return {
    userId: result.userId ?? '',
    username: result.username ?? '',
    accessToken: result.accessToken ?? '',
    accessTokenExpiresAt: localExpiry(result.accessToken ?? '', result.accessTokenExpiresAt),
    receivedAt: new Date().toISOString(),
    refreshToken: result.refreshToken ?? '',
  };
}

/**
 * When the token expires by this machine's clock: its lifetime (exp - iat, from the JWT) from
 * now, so a clock that is off does not make a fresh token look expired or an old one valid.
 */
function localExpiry(token: string, serverExpiry: string | null): string {
  try {
    const claims = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { iat?: number; exp?: number };
    if (typeof claims.iat === 'number' && typeof claims.exp === 'number')
      return new Date(Date.now() + (claims.exp - claims.iat) * 1000).toISOString();
  } catch {
    // not a JWT we can read: the server's word, below
  }
  return serverExpiry ?? new Date(0).toISOString();
}
