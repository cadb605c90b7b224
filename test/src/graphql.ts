import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

// Minimal GraphQL clients for tests: plain HTTP POST, and graphql-ws over a real socket.

/** One POST; `accessToken` goes in `Authorization: Bearer …`. GraphQL errors throw, with their codes. */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  accessToken?: string,
  headers: Record<string, string> = {},
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const result = (await response.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  if (result.errors?.length) throw graphqlErrors(result.errors);
  return result.data as T;
}

/** One Error for a result's GraphQL errors: their messages, and their codes as `codes`. */
function graphqlErrors(errors: readonly { message: string; extensions?: { code?: unknown } }[]): Error & { codes: unknown[] } {
  return Object.assign(new Error(errors.map((e) => e.message).join('; ')), { codes: errors.map((e) => e.extensions?.code) });
}

/** A graphql-ws client that sends `accessToken` in connection_init; without one it connects anonymously. */
export function wsClient(url: string, accessToken?: string): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
    lazy: false,
    retryAttempts: 0,
    // Errors reach each subscription's own sink; the socket closing at dispose is not one.
    onNonLazyError: () => undefined,
  });
}

/** Collects subscription results until `count` arrived; `done` resolves with them. `onItem` sees each as it arrives. */
export function collect<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  count: number,
  onItem?: (item: T) => void,
  extensions?: Record<string, unknown>,
) {
  const items: T[] = [];
  let unsubscribe = () => {};
  const done = new Promise<T[]>((resolve, reject) => {
    unsubscribe = client.subscribe<T>(
      { query, variables, ...(extensions ? { extensions } : {}) },
      {
        next: (value) => {
          if (value.errors) return reject(graphqlErrors(value.errors));
          items.push(value.data as T);
          onItem?.(value.data as T);
          if (items.length >= count) resolve(items);
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => resolve(items),
      },
    );
  });
  return { items, done, unsubscribe: () => unsubscribe() };
}
