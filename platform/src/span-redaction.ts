import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { redactText, redactUrl } from './redact.ts';

// Redacts URL attributes of every span before it is exported: the HTTP instrumentation's
// own list of parameters covers only incoming requests' url.query, while fetch's (undici)
// spans record url.full and url.query as sent (the one endpoint's sign-on proxy forwards the
// OIDC callback's code and state, and the web client's return carries sign_on_code), and a
// URL can carry a password. Runs when a span starts and again as it ends, while it is still
// writable, so attributes set late are covered too (redact.ts says what is hidden).

const URL_ATTRIBUTES = new Set(['url.full', 'url.original', 'http.url', 'http.target', 'url.query', 'server.address']);

export class RedactingSpanProcessor implements SpanProcessor {
  onStart(span: Span): void {
    redactAttributes(span);
  }

  onEnding(span: Span): void {
    redactAttributes(span);
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function redactAttributes(span: Span): void {
  for (const [key, value] of Object.entries(span.attributes)) {
    if (typeof value !== 'string' || !URL_ATTRIBUTES.has(key)) continue;
    const redacted =
      key === 'url.query' ? redactQuery(value) : /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? redactUrl(value) : redactText(value);
    if (redacted !== value) span.setAttribute(key, redacted);
  }
}

/** A query string, with or without its "?". */
function redactQuery(query: string): string {
  return query.startsWith('?') ? redactText(query) : redactText(`?${query}`).slice(1);
}
