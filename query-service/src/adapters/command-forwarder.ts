import type { ExecutionResult } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  OPERATIONS_PER_BATCH,
  OPERATION_CALLER_EXTENSION,
  OPERATION_TRACE_EXTENSION,
  currentTrace,
  outsideTraces,
  signedPost,
  traceHeaders,
  type InstanceAuth,
  type Logger,
  type OperationCaller,
} from '@chat/platform';
import type { CommandCredentials } from '../graphql/commands.ts';

// Sends mutations to the command service's GraphQL endpoint, each as its caller (their
// Authorization header and address, in the operation's extensions: OperationCaller), in
// requests signed as this instance: the command service serves instances only. The mutations
// that arrive in one turn of the event loop go together, as one batch (a JSON array, which the
// command service runs as separate operations): under load a request to it, its socket writes
// (the dearest part of a call on a loopback here) and its reading and signing are shared by
// several mutations, and a lone one leaves at once.
// Each answer is passed back as the command service wrote it; one that cannot be reached, or
// answers anything but GraphQL, is a typed UNAVAILABLE, never a library's or a proxy's words.

const TIMEOUT_MS = 30_000;
/** Connections to the command service: requests in flight at once beyond these wait for one. */
const CONNECTIONS = 256;
/** Operations in a batch, and its size: well under the command service's bound on a body (GRAPHQL_LIMITS.bytes). */
export const BATCH_LIMITS = { operations: OPERATIONS_PER_BATCH, bytes: 256 * 1024 } as const;

interface Pending {
  /** The operation's JSON without its closing brace, so that its extensions can be added as the batch is made. */
  open: string;
  caller: OperationCaller;
  /** The trace of the request it came in (W3C traceparent), when there is one. */
  traceparent: string | undefined;
  answer: (result: ExecutionResult) => void;
}

export class CommandForwarder {
  private readonly endpoint: URL;
  private readonly auth: InstanceAuth;
  private readonly log: Logger;
  private readonly agent: Agent;
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private flushing: NodeJS.Immediate | undefined;

  constructor(endpoint: string, auth: InstanceAuth, log: Logger) {
    this.endpoint = new URL(endpoint);
    const options = { keepAlive: true, maxSockets: CONNECTIONS };
    this.agent = this.endpoint.protocol === 'https:' ? new HttpsAgent(options) : new Agent(options);
    this.auth = auth;
    this.log = log;
  }

  send(
    query: string,
    variables: Record<string, unknown> | undefined,
    operationName: string | null | undefined,
    { authorization, clientAddress }: CommandCredentials,
  ): Promise<ExecutionResult> {
    const caller: OperationCaller = { clientAddress, ...(authorization ? { authorization } : {}) };
    const open = JSON.stringify({ query, variables, operationName }).slice(0, -1);
    const traceparent = traceHeaders(currentTrace()).traceparent;
    return new Promise((answer) => {
      // A batch never outgrows its bounds: what would overflow it leaves now, and this one starts the next.
      if (this.queue.length >= BATCH_LIMITS.operations || this.queuedBytes + open.length > BATCH_LIMITS.bytes) this.flush();
      this.queue.push({ open, caller, traceparent, answer });
      this.queuedBytes += open.length;
      this.flushing ??= setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    const batch = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (batch.length === 0) return;
    const answer = (results: ExecutionResult[]) => batch.forEach((pending, i) => pending.answer(results[i]!));
    // One operation goes as itself, in its own trace (the request's span is its caller's).
    if (batch.length === 1) return void this.post(operationJson(batch[0]!, false), 1).then(answer);
    // Several go as a JSON array, answered by an array in their order. The request belongs to
    // none of their traces: each operation carries its own, which its span on the other side continues.
    const body = `[${batch.map((pending) => operationJson(pending, true)).join(',')}]`;
    void outsideTraces(() => this.post(body, batch.length)).then(answer);
  }

  /** The answers to `count` operations, in order; every one UNAVAILABLE when the command service gave none. */
  private async post(body: string, count: number): Promise<ExecutionResult[]> {
    try {
      // application/json: a GraphQL answer is a 200 whatever its errors, so any other status is the transport's.
      const response = await signedPost(this.auth, this.agent, this.endpoint, body, {
        headers: { accept: 'application/json' },
        timeoutMs: TIMEOUT_MS,
      });
      if (response.status === 200) {
        const parsed = JSON.parse(response.text) as unknown;
        const results = count === 1 ? [parsed] : parsed;
        if (Array.isArray(results) && results.length === count && results.every(isExecutionResult)) return results;
      }
      this.log.warn('the command service answered mutations with something other than GraphQL', { status: response.status });
    } catch (error) {
      this.log.warn('cannot reach the command service', { error });
    }
    return Array.from({ length: count }, () => ({
      data: null,
      errors: [createGraphQLError('the command service cannot be reached; retry shortly', { extensions: { code: 'UNAVAILABLE' } })],
    }));
  }

  close(): void {
    this.agent.destroy();
  }
}

function operationJson({ open, caller, traceparent }: Pending, withTrace: boolean): string {
  const extensions = {
    [OPERATION_CALLER_EXTENSION]: caller,
    ...(withTrace && traceparent ? { [OPERATION_TRACE_EXTENSION]: traceparent } : {}),
  };
  return `${open},"extensions":${JSON.stringify(extensions)}}`;
}

function isExecutionResult(value: unknown): value is ExecutionResult {
  return typeof value === 'object' && value !== null && ('data' in value || 'errors' in value);
}
