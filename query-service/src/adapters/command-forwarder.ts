import type { ExecutionResult } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { fetch as whatwgFetch } from '@whatwg-node/fetch';
import { INSTANCE_HEADERS, signedFetch, type InstanceAuth, type Logger } from '@chat/platform';
import type { CommandCredentials } from '../graphql/commands.ts';

// Sends a mutation to the command service's GraphQL endpoint as the caller (their Authorization
// header, their address vouched for), each request signed as this instance: the command service
// serves instances only. Its GraphQL answer is passed back as it is; a command service that cannot
// be reached, or answers anything but GraphQL, is a typed UNAVAILABLE, never the fetch library's
// or a proxy's words.

const TIMEOUT_MS = 30_000;

export class CommandForwarder {
  private readonly endpoint: string;
  private readonly auth: InstanceAuth;
  private readonly log: Logger;

  constructor(endpoint: string, auth: InstanceAuth, log: Logger) {
    this.endpoint = endpoint;
    this.auth = auth;
    this.log = log;
  }

  async send(
    query: string,
    variables: Record<string, unknown> | undefined,
    operationName: string | null | undefined,
    { authorization, clientAddress }: CommandCredentials,
  ): Promise<ExecutionResult> {
    const body = JSON.stringify({ query, variables, operationName });
    try {
      const response = await signedFetch(
        this.auth,
        this.endpoint,
        {
          method: 'POST',
          // application/json: a GraphQL answer is a 200 whatever its errors, so any other status is the transport's.
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            ...(authorization ? { authorization } : {}),
            [INSTANCE_HEADERS.clientAddress]: clientAddress,
          },
          body,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        },
        // @whatwg-node's fetch, on node:http: in a CPU profile under load, Node's global fetch
        // (undici) cost this service more per mutation.
        (target, init) => whatwgFetch(target, init),
      );
      const text = await response.text();
      if (response.status === 200) {
        const result = JSON.parse(text) as ExecutionResult;
        if (typeof result === 'object' && result !== null && ('data' in result || 'errors' in result)) return result;
      }
      this.log.warn('the command service answered a mutation with something other than GraphQL', { status: response.status });
    } catch (error) {
      this.log.warn('cannot reach the command service', { error });
    }
    return {
      data: null,
      errors: [createGraphQLError('the command service cannot be reached; retry shortly', { extensions: { code: 'UNAVAILABLE' } })],
    };
  }
}
