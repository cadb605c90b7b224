import { readFileSync } from 'node:fs';
import { GraphQLSchema, buildSchema } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { fetch as whatwgFetch } from '@whatwg-node/fetch';
import { INSTANCE_HEADERS, signedFetch, type InstanceAuth } from '@chat/platform';
import { buildHTTPExecutor } from '@graphql-tools/executor-http';
import { mergeSchemas } from '@graphql-tools/schema';
import type { Executor } from '@graphql-tools/utils';
import { wrapSchema } from '@graphql-tools/wrap';

// One endpoint: this service's own schema (history, live state, subscriptions) merged with the
// command service's mutations, which are proxied to it over HTTP with the caller's own
// credentials. Only the mutations are proxied; queries and subscriptions run here, directly,
// so a subscription's execution is still shared by all its subscribers (shared-execution.ts).

/** What a proxied mutation carries to the command service on the caller's behalf. */
export interface CommandCredentials {
  /** The caller's `Authorization` header, as they sent it (the command service checks it itself). */
  authorization: string | undefined;
  /** The caller's address: the command service's rate limits count per address (this service vouches for it, signed). */
  clientAddress: string;
}

// The command service's published SDL (kept fresh by the schema snapshot test) is the contract.
const COMMAND_SDL = new URL(import.meta.resolve('@chat/command-service/schema.graphql'));

/** The command service's mutations, resolved by `executor`. Its Query (only `me`) stays behind. */
export function commandMutations(executor: Executor, commandSchema = buildSchema(readFileSync(COMMAND_SDL, 'utf8'))): GraphQLSchema {
  const mutationsOnly = new GraphQLSchema({ mutation: commandSchema.getMutationType() });
  // batch: a request's mutation fields travel together, one request, still run in order there.
  return wrapSchema({ schema: mutationsOnly, executor, batch: true });
}

/** The schema the one endpoint serves: `own` plus the command service's mutations. */
export function withCommandMutations(own: GraphQLSchema, executor: Executor, commandSchema?: GraphQLSchema): GraphQLSchema {
  return mergeSchemas({ schemas: [own, commandMutations(executor, commandSchema)] });
}

/**
 * Sends proxied mutations to the command service at `endpoint`, as the caller, each request
 * signed as this instance (the command service serves instances only). A command service that
 * cannot be reached is a typed UNAVAILABLE, never the fetch library's words.
 */
export function commandExecutor(endpoint: string, credentialsOf: (context: unknown) => CommandCredentials, auth: InstanceAuth): Executor {
  const http = buildHTTPExecutor({
    endpoint,
    timeout: 30_000,
    // The executor's own fetch (@whatwg-node's, on node:http), as before signing: in a CPU
    // profile under load, Node's global fetch (undici) cost the query service more per mutation.
    fetch: (url: string, init?: RequestInit) => signedFetch(auth, url, init, (target, options) => whatwgFetch(target, options)),
    headers: (request) => {
      const { authorization, clientAddress } = credentialsOf(request?.context);
      return { ...(authorization ? { authorization } : {}), [INSTANCE_HEADERS.clientAddress]: clientAddress };
    },
  });
  return async (request) => {
    const result = await http(request);
    // The executor wraps a transport failure (refused, timed out, not GraphQL) around its cause;
    // errors the command service answered have none and pass through as it wrote them.
    if ('errors' in result && result.errors?.some((error) => error.originalError)) {
      return {
        data: null,
        errors: [createGraphQLError('the command service cannot be reached; retry shortly', { extensions: { code: 'UNAVAILABLE' } })],
      };
    }
    return result;
  };
}
