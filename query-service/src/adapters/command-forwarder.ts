import type { ExecutionResult } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { signedPost, type InstanceAuth, type Logger } from '@chat/platform';
import type { CommandCredentials } from '../graphql/commands.ts';

// Sends a mutation to the command service's GraphQL endpoint as the caller (their Authorization
// header, their address vouched for), each request signed as this instance: the command service
// serves instances only. Its GraphQL answer is passed back as it is; a command service that cannot
// be reached, or answers anything but GraphQL, is a typed UNAVAILABLE, never the fetch library's
// or a proxy's words.

const TIMEOUT_MS = 30_000;
/** Connections to the command service: mutations in flight at once beyond these wait for one. */
const CONNECTIONS = 256;

export class CommandForwarder {
  private readonly endpoint: URL;
  private readonly auth: InstanceAuth;
  private readonly log: Logger;
  private readonly agent: Agent;

  constructor(endpoint: string, auth: InstanceAuth, log: Logger) {
    this.endpoint = new URL(endpoint);
    const options = { keepAlive: true, maxSockets: CONNECTIONS };
    this.agent = this.endpoint.protocol === 'https:' ? new HttpsAgent(options) : new Agent(options);
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
      const response = await signedPost(this.auth, this.agent, this.endpoint, body, {
        clientAddress,
        // application/json: a GraphQL answer is a 200 whatever its errors, so any other status is the transport's.
        headers: { accept: 'application/json', ...(authorization ? { authorization } : {}) },
        timeoutMs: TIMEOUT_MS,
      });
      if (response.status === 200) {
        const result = JSON.parse(response.text) as ExecutionResult;
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

  close(): void {
    this.agent.destroy();
  }
}
