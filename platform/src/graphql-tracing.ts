import { SpanStatusCode, context, trace, type Context, type Span } from '@opentelemetry/api';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { countOperation, describeOperation } from './graphql-metrics.ts';
import { graphqlDuration } from './metrics.ts';
import { contextFromHeaders, endSpan, tracer, withSpan } from './tracing.ts';

// A span around each query's and mutation's execution, active while it runs, so what the
// operation does (the proxied mutation's request, the command's append, the queries) is inside
// it. Named by the operation's type and first root field (`mutation sendMessage`), as the
// metrics label it: the operation's own name is the client's to make up. Subscriptions get no
// span of their own (they last as long as the socket); each live event's delivery has one.

const ours = new WeakSet<Span>();

/**
 * An operation's own trace, in its extensions (a W3C traceparent), for an operation that came
 * in a batch of several callers' operations: the batch's request belongs to no one trace, so
 * each operation's span continues the trace its caller's request began.
 */
export const OPERATION_TRACE_EXTENSION = 'chatTrace';

function batchedParent(graphqlContext: unknown): Context | undefined {
  const extensions = (graphqlContext as { params?: { extensions?: Record<string, unknown> } } | undefined)?.params?.extensions;
  const traceparent = extensions?.[OPERATION_TRACE_EXTENSION];
  return typeof traceparent === 'string' ? contextFromHeaders({ traceparent }) : undefined;
}

export function useOperationTracing(): Plugin {
  return {
    instrumentation: {
      execute: (payload, wrapped) => {
        const parent = batchedParent(payload.context) ?? context.active();
        const span = tracer.startSpan('graphql', {}, parent);
        ours.add(span);
        try {
          const done = withSpan(span, wrapped, parent);
          if (!(done instanceof Promise)) return void span.end();
          return done.then(
            () => span.end(),
            (error: unknown) => {
              endSpan(span, error);
              throw error;
            },
          );
        } catch (error) {
          endSpan(span, error);
          throw error;
        }
      },
    },
    onExecute({ args }) {
      // Inside the execute instrumentation above, whose span is the active one.
      const span = trace.getActiveSpan();
      if (!span || !ours.has(span)) return;
      const { type, field } = describeOperation(args.document, args.operationName ?? undefined);
      span.updateName(`${type} ${field}`);
      span.setAttribute('graphql.operation.type', type);
      if (args.operationName) span.setAttribute('graphql.operation.name', args.operationName);
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result ? result.errors : undefined;
          if (errors?.length) span.setStatus({ code: SpanStatusCode.ERROR, message: errors[0]?.message });
        },
      };
    },
  };
}

/**
 * Runs an operation that does not go through envelop (a mutation the one endpoint routes to the
 * command side) with what the plugins above and useOperationMetrics give one that does: a span
 * named like the operation, active while it runs, and its count and duration.
 */
export async function observedOperation(
  { type, field, operationName }: { type: string; field: string; operationName?: string | null },
  run: () => Promise<ExecutionResult>,
): Promise<ExecutionResult> {
  const span = tracer.startSpan(`${type} ${field}`, { attributes: { 'graphql.operation.type': type } });
  if (operationName) span.setAttribute('graphql.operation.name', operationName);
  const stop = graphqlDuration.startTimer({ type, field });
  try {
    const result = await withSpan(span, run);
    const failed = Boolean(result.errors?.length);
    countOperation({ type, field }, failed);
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: result.errors![0]!.message });
    span.end();
    return result;
  } catch (error) {
    countOperation({ type, field }, true);
    endSpan(span, error);
    throw error;
  } finally {
    stop();
  }
}
