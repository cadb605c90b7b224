import { context, trace } from '@opentelemetry/api';
import { contextFromHeaders, startMessagingSpan, type TraceContext } from '@chat/platform';
import type { LiveNotification } from '@chat/schemas';

// The delivery of a live event continues the trace its notification carries (the command's,
// through the append, the projection and the publish): one span per event and instance, around
// handing it to every subscriber here, however many they are (a span per subscriber would make
// a big room's message thousands of spans). The event's GraphQL execution, shared by the
// subscribers with the same operation, runs later in each subscription's own loop: it finds the
// delivery's trace by the event object (parsed once, the same for all of them).

const traces = new WeakMap<object, TraceContext>();

/** Runs `deliver` (handing `notification` to `subscribers` listeners) in a delivery span of its trace, if it carries one. */
export function deliverInTrace(notification: LiveNotification, channel: string, subscribers: number, deliver: () => void): void {
  if (!notification.trace) return deliver();
  const parent = contextFromHeaders(notification.trace);
  const span = startMessagingSpan(
    notification.forUser ? 'user' : 'room',
    { system: 'redis', type: 'process', operation: 'deliver', destination: channel },
    parent,
    { 'chat.event.type': notification.event.type, 'chat.subscribers': subscribers },
  );
  const delivery = trace.setSpan(parent, span);
  traces.set(notification.event, delivery);
  if (notification.event.message) traces.set(notification.event.message, delivery);
  try {
    context.with(delivery, deliver);
  } finally {
    span.end();
  }
}

/** The delivery trace of a live event (or its message), if it came with one; replays from Postgres have none. */
export function deliveryTrace(value: unknown): TraceContext | undefined {
  return typeof value === 'object' && value !== null ? traces.get(value) : undefined;
}
