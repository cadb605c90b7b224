import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';

// Traces as the services use them, through OpenTelemetry's API only: without the SDK (a
// process started without platform/src/instrument.ts) every call here is a cheap no-op. The
// SDK and the libraries' instrumentation are set up by instrument.ts (tracing-sdk.ts).
//
// One rule for trace context that leaves a process in data (Kafka record headers, the live
// notifications on Redis): it is the W3C trace context (traceparent, tracestate) of the span
// that sent it, written and read by the propagator here and nowhere else. HTTP carries it in
// headers too, written and read by the HTTP instrumentations.

/** A trace context (OpenTelemetry's), carried with work that waits in a queue and continues elsewhere. */
export type TraceContext = Context;

/** The trace context of what runs now, to carry along with work queued for later. */
export function currentTrace(): TraceContext {
  return context.active();
}

/** The tracer of the platform's own spans (appends, projections, publishes, deliveries, GraphQL operations). */
export const tracer = trace.getTracer('chat');

/** W3C trace context of `ctx`'s span, as headers: empty when there is none (tracing off). */
export function traceHeaders(ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

const headerGetter: TextMapGetter<Record<string, HeaderValue>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.map(String) : String(value);
  },
};

/** The trace context written by traceHeaders (Kafka headers are Buffers); the root context when there is none. */
export function contextFromHeaders(headers: Record<string, HeaderValue> | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
}

/** What a messaging span is about, in OpenTelemetry's messaging conventions. */
export interface Messaging {
  system: 'kafka' | 'redis';
  /** `send` (a producer's span) or `process` (a consumer's). */
  type: 'send' | 'process';
  /** The operation's own name: send, publish, process, deliver. */
  operation: string;
  destination: string;
}

/** A span named `<operation> <what>` for one message sent or processed, in `parent`'s trace. */
export function startMessagingSpan(what: string, m: Messaging, parent: Context, attributes: Attributes = {}): Span {
  return tracer.startSpan(
    `${m.operation} ${what}`,
    {
      kind: m.type === 'send' ? SpanKind.PRODUCER : SpanKind.CONSUMER,
      attributes: {
        'messaging.system': m.system,
        'messaging.operation.type': m.type,
        'messaging.operation.name': m.operation,
        'messaging.destination.name': m.destination,
        ...attributes,
      },
    },
    parent,
  );
}

/**
 * A span for one record sent to Kafka on behalf of whoever is in `parent` (the command's
 * request), with the headers that carry it: the record's consumers continue its trace.
 */
export function startRecordSpan(topic: string, parent: Context, attributes: Attributes): { span: Span; headers: Record<string, string> } {
  const span = startMessagingSpan(topic, { system: 'kafka', type: 'send', operation: 'send', destination: topic }, parent, attributes);
  return { span, headers: traceHeaders(trace.setSpan(parent, span)) };
}

/** Ends `span`, marked failed when `error` is given. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/** Links to `spans`, for a span that works on behalf of many (a batch). */
export function linksTo(spans: Iterable<Span>): Link[] {
  const links: Link[] = [];
  for (const span of spans) links.push({ context: span.spanContext() });
  return links;
}

/** Runs `fn` with `span` active, so spans started inside (a query, a request) are its children. */
export function withSpan<T>(span: Span, fn: () => T, parent: Context = context.active()): T {
  return context.with(trace.setSpan(parent, span), fn);
}

/** Runs `fn` outside any trace: background work started by one request must not join its trace. */
export function outsideTraces<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

/** `trace_id` and `span_id` of the active span, for log lines (none when no span is active). */
export function activeTraceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return trace.isSpanContextValid(span.spanContext()) ? { trace_id: traceId, span_id: spanId } : {};
}

/** Set by instrument.ts once the SDK runs: what flushes the spans still buffered, before an exit. */
export const tracing = {
  started: false,
  flush: async (): Promise<void> => {},
};
