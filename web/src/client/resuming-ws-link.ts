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
      return this.client.subscribe(payload, {
        next: (result) => {
          const cursor = resumable ? lastCursor(result.data) : undefined;
          if (cursor !== undefined) payload.variables = { ...payload.variables, after: cursor };
          observer.next(result as ApolloLink.Result);
        },
        complete: () => observer.complete(),
        error: (error) => {
          if (error instanceof Error) return observer.error(error);
          if (Array.isArray(error)) return observer.error(new CombinedGraphQLErrors({ errors: error }));
          observer.error(new Error('the live connection closed'));
        },
      });
    });
  }
}

/** The `cursor` of the event a subscription just delivered (its one root field's value). */
function lastCursor(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const [value] = Object.values(data);
  const cursor = (value as { cursor?: unknown } | null)?.cursor;
  return typeof cursor === 'string' ? cursor : undefined;
}
