import { pino, destination, type Logger as Pino } from 'pino';
import { redactText, redactUrl } from './redact.ts';
import { activeTraceFields } from './tracing.ts';

// Structured one-line JSON logs on stderr, written by pino, so any log shipper can read them and
// stdout stays free for what a command prints for people. Each line: `t` (ISO time), `level`
// (debug, info, warn, error), `service`, `msg`, `trace_id` and `span_id` of the active span
// when there is one (a line found in a log shipper finds its trace), then the fields given; an
// Error anywhere in the fields is written as its name and message (never a stack, which can
// carry a driver's text). Every string written (the message, fields, errors' messages) has
// URLs' passwords and credential query parameters redacted (redact.ts): a connection string
// or a callback URL in an error must not put a secret in the log.

type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const LEVELS: Level[] = ['debug', 'info', 'warn', 'error'];
// Synchronous, so the last lines before an exit (a bad configuration, a failed shutdown) are written.
const stderr = destination({ fd: 2, sync: true });

export function createLogger(service: string, minLevel = process.env.LOG_LEVEL ?? 'info'): Logger {
  const log: Pino = pino(
    {
      level: LEVELS.includes(minLevel as Level) ? minLevel : 'info',
      base: { service },
      messageKey: 'msg',
      timestamp: () => `,"t":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      mixin: activeTraceFields,
    },
    stderr,
  );
  const write = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (!log.isLevelEnabled(level)) return; // a debug line on a hot path costs nothing at info
    if (fields) log[level](plain(fields) as object, redactText(msg));
    else log[level](redactText(msg));
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** The fields with every Error, at any depth, reduced to its name and message, and every string redacted. */
function plain(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (typeof value === 'string') return redactText(value);
  if (value instanceof URL) return redactUrl(value.href);
  if (depth > 4 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => plain(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item, depth + 1)]));
}
