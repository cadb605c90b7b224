import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { InstanceAuth, signedFetch } from '@chat/platform';

// Minimal GraphQL clients for tests: plain HTTP POST, and graphql-ws over a real socket.
// A test process holds its stacks' internal secret (infra's startStack puts it in the
// environment), so its POSTs are signed as an instance: that is what lets a test call the
// command service's own endpoint, as the one endpoint does. The one endpoint ignores it.

let testInstance: InstanceAuth | undefined;

/** fetch(), signed as a test instance when the stacks' internal secret is known. */
export function instanceFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const secret = process.env.INTERNAL_SECRET;
  // Only our own kinds of request are signed (a form posted to a test's identity provider is not).
  const signable = init.body == null || typeof init.body === 'string' || init.body instanceof Uint8Array;
  if (!secret || !signable) return fetch(url, init);
  testInstance ??= new InstanceAuth(secret, `test@${process.pid}`);
  return signedFetch(testInstance, url, init);
}

/** One POST; `accessToken` goes in `Authorization: Bearer …`. GraphQL errors throw, with their codes. */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  accessToken?: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<T> {
  const response = await instanceFetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  const result = (await response.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  if (result.errors?.length) throw graphqlErrors(result.errors);
  return result.data as T;
}

/** One Error for a result's GraphQL errors: their messages, and their codes as `codes`. */
export function graphqlErrors(errors: readonly { message: string; extensions?: { code?: unknown } }[]): Error & { codes: unknown[] } {
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
  // A subscription may end in an error before the test awaits `done` (a removed member's, while the
  // removal's own answer is on its way): that is not an unhandled rejection, `done` still rejects.
  done.catch(() => undefined);
  return { items, done, unsubscribe: () => unsubscribe() };
}
