import { DiagLogLevel, context, diag, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator, setGlobalErrorHandler } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { createLogger } from './log.ts';
import { RedactingSpanProcessor } from './span-redaction.ts';
import { tracing } from './tracing.ts';

// The OpenTelemetry SDK of one service process, started by instrument.ts before the service's
// own modules load (the instrumentations patch pg, ioredis and node:http as they are loaded).
//
// Export is off unless an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
// OTEL_EXPORTER_OTLP_ENDPOINT plus /v1/traces), over HTTP, protobuf unless the protocol says
// http/json. Without an endpoint spans are still started, but never recorded (AlwaysOff): they
// cost an id each and carry the context, so log lines, Kafka headers and live notifications
// still name a trace, and nothing is kept or sent.
//
// kafkajs's instrumentation is not used: it parents every record of a transaction on the span
// current when the transaction began and writes that span into the records' headers, while
// one transaction here carries the commands of many requests; and it parents a batch's
// processing on a poll span of its own, where each record should continue its command's trace.
// The appender and the projector start those spans themselves (platform/src/tracing.ts).
// GraphQL gets a span per operation from useOperationTracing (graphql-tracing.ts): Yoga executes
// with @graphql-tools/executor, which graphql-js's instrumentation does not see.

const NOT_TRACED = new Set(['/healthz', '/health', '/readyz', '/ready', '/metrics']);

export async function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const exporting = Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
  // The SDK's own troubles (an export that failed, spans dropped) in the service's log, as one
  // line each with the error's name and message (its default handler writes the stack).
  const log = createLogger(serviceName);
  setGlobalErrorHandler((error) => log.warn('opentelemetry: spans were not exported', { error }));
  const say = (level: 'warn' | 'error') => (message: string) => log[level](`opentelemetry: ${message}`);
  const quiet = () => undefined;
  diag.setLogger({ error: say('error'), warn: say('warn'), info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.WARN);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName, 'service.instance.id': crypto.randomUUID() }),
    sampler: exporting ? samplerFrom(env) : new AlwaysOffSampler(),
    // Redaction first: the batch processor exports what the spans hold when they end.
    spanProcessors: exporting ? [new RedactingSpanProcessor(), await batchProcessor(env)] : [],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => NOT_TRACED.has(request.url?.split('?')[0] ?? ''),
        requireParentforOutgoingSpans: true,
        // The sign-on callback's one-time code and state, and the code the client trades for a
        // session (RedactingSpanProcessor covers every other URL attribute, fetch's included).
        redactedQueryParamsServer: ['code', 'state', 'sign_on_code', 'session_state', 'token', 'access_token', 'refresh_token'],
      }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
      // Background work (sweeps, checkpoints read, LISTEN) starts no trace of its own.
      new PgInstrumentation({ requireParentSpan: true }),
      // The command only: arguments can be session ids or whole messages.
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
    ],
  });
  tracing.started = true;
  tracing.flush = () => provider.forceFlush({ timeoutMillis: 2000 });
}

async function batchProcessor(env: NodeJS.ProcessEnv): Promise<BatchSpanProcessor> {
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
  // Each exporter reads its endpoint, headers and timeout from the OTEL_EXPORTER_OTLP_* variables itself.
  const { OTLPTraceExporter } =
    protocol === 'http/json'
      ? await import('@opentelemetry/exporter-trace-otlp-http')
      : await import('@opentelemetry/exporter-trace-otlp-proto');
  const exporter: SpanExporter = new OTLPTraceExporter();
  const number = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return new BatchSpanProcessor({
    exporter,
    scheduledDelayMillis: number('OTEL_BSP_SCHEDULE_DELAY'),
    maxQueueSize: number('OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: number('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
    exportTimeoutMillis: number('OTEL_BSP_EXPORT_TIMEOUT'),
  });
}

/** OTEL_TRACES_SAMPLER and its OTEL_TRACES_SAMPLER_ARG (a ratio), as the specification names them. */
function samplerFrom(env: NodeJS.ProcessEnv): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(env.OTEL_TRACES_SAMPLER_ARG ? Number(env.OTEL_TRACES_SAMPLER_ARG) : 1);
  switch (env.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
