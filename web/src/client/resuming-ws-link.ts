import { ApolloLink } from '@apollo/client/link';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { print } from '@apollo/client/utilities';
import type { Client, SubscribePayload } from 'graphql-ws';
import { Observable } from 'rxjs';

/**
 * Apollo's GraphQLWsLink, plus resumption: graphql-ws re-sends an operation's payload as it is
 * when it reconnects, so a subscription that takes `after` would start again from where it
 * first started, replaying what the client already has. This link keeps that payload's `after`
 * at the cursor of the last event received, so a reconnect asks for exactly what was missed.
 *
 * And persistence: a subscription the server ends with an error that passes (UNAVAILABLE while
 * the read models cannot be read, RATE_LIMITED or TOO_MANY_SUBSCRIPTIONS after a burst of
 * reconnects, an internal error) or that a closed socket ends for good is started again, from
 * its last cursor, after the wait the server asked for or a growing one. Apollo ends a
 * subscription on its first error, and a room would otherwise stop updating with nothing
 * shown. An error that would come again (not a member, a bad argument, a limit reached) ends it.
 */
export class ResumingWsLink extends ApolloLink {
  private readonly client: Client;

  constructor(client: Client) {
    super();
    this.client = client;
  }

  override request(operation: ApolloLink.Operation): Observable<ApolloLink.Result> {
    return new Observable((observer) => {
      // Mutable on purpose: graphql-ws reads it again at each reconnect.
      const payload: { -readonly [K in keyof SubscribePayload]: SubscribePayload[K] } = {
        query: print(operation.query),
        operationName: operation.operationName ?? null,
        variables: { ...operation.variables },
        extensions: operation.extensions,
      };
      const resumable = payload.variables !== null && payload.variables !== undefined && 'after' in payload.variables;
      let failures = 0;
      let retry: ReturnType<typeof setTimeout> | undefined;
      let unsubscribe = () => {};
      const start = () => {
        unsubscribe = this.client.subscribe(payload, {
          next: (result) => {
            failures = 0;
            const cursor = resumable ? lastCursor(result.data) : undefined;
            if (cursor !== undefined) payload.variables = { ...payload.variables, after: cursor };
            observer.next(result as ApolloLink.Result);
          },
          complete: () => observer.complete(),
          error: (error) => {
            const waitMs = retryDelayMs(error, failures);
            if (waitMs !== undefined) {
              failures += 1;
              retry = setTimeout(start, waitMs);
              return;
            }
            if (error instanceof Error) return observer.error(error);
            if (Array.isArray(error)) return observer.error(new CombinedGraphQLErrors({ errors: error }));
            observer.error(new Error('the live connection closed'));
          },
        });
      };
      start();
      return () => {
        clearTimeout(retry);
        unsubscribe();
      };
    });
  }
}

/** Codes of errors that pass: the same subscription, started again later, is served. */
const PASSING = new Set(['UNAVAILABLE', 'RATE_LIMITED', 'TOO_MANY_SUBSCRIPTIONS', 'INTERNAL_SERVER_ERROR']);
const MAX_WAIT_MS = 30_000;

/** How long to wait before starting a subscription again after `error`, or undefined when it would fail the same way. */
export function retryDelayMs(error: unknown, failures: number): number | undefined {
  const growing = Math.min(MAX_WAIT_MS, 1000 * 2 ** failures) * (0.5 + Math.random() / 2);
  // A socket closed with a code graphql-ws will not reconnect after (4400, 4500, …): a new subscribe opens a new one.
  if (!Array.isArray(error)) return growing;
  const codes = error.map((e: { extensions?: { code?: unknown } }) => e.extensions?.code);
  if (!codes.every((code) => typeof code === 'string' && PASSING.has(code))) return undefined;
  const asked = Math.max(
    0,
    ...error.map((e: { extensions?: { retryAfterSeconds?: unknown } }) => Number(e.extensions?.retryAfterSeconds) || 0),
  );
  return asked > 0 ? Math.min(MAX_WAIT_MS, asked * 1000 + Math.random() * 500) : growing;
}

/** The `cursor` of the event a subscription just delivered (its one root field's value). */
function lastCursor(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const [value] = Object.values(data);
  const cursor = (value as { cursor?: unknown } | null)?.cursor;
  return typeof cursor === 'string' ? cursor : undefined;
}
