import { trace, type Span } from '@opentelemetry/api';
import { contextFromHeaders, endSpan, outsideTraces, redisPublishes, startMessagingSpan, traceHeaders } from '@chat/platform';
import type { Redis } from 'ioredis';
import { sleep, type Logger } from '@chat/platform';
import { roomChannel, userChannel, type LiveNotification } from '@chat/schemas';

// After a batch commits, its changes go out on Redis, one channel per room (and per user for
// what brings a user into a room), as a JSON array of what each channel gets. Redis is only the live path: projection never waits for it.
// Notifications queue here and go out in order in the background; when Redis is away they
// wait (bounded), and what had to be dropped is recovered by subscribers from Postgres when
// their own Redis connection comes back (they re-read from their cursors). So a Redis outage
// delays live delivery and loses nothing, and history and read-your-writes go on meanwhile.
//
// A notification that carries a trace (its record's) gets a publish span in it, from queued to
// sent, and carries that span on instead, for the query service's delivery. The pipeline runs
// outside every trace: it sends many traces' notifications at once.

const MAX_QUEUED = 100_000;
const MAX_PIPELINE = 1000;

export class RedisPublisher {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly log: Logger;
  private queue: LiveNotification[] = [];
  private readonly spans = new WeakMap<LiveNotification, Span>();
  private draining: Promise<void> | undefined;
  private dropped = 0;
  private readonly holdMs: number;

  /** `holdMs` (tests only) holds every publish that long after its commit, to widen the window a crash can fall into. */
  constructor(redis: Redis, prefix: string, log: Logger, holdMs = 0) {
    this.redis = redis;
    this.prefix = prefix;
    this.log = log;
    this.holdMs = holdMs;
  }

  /** Queues notifications for publishing, in order; returns at once. */
  enqueue(notifications: readonly LiveNotification[]): void {
    if (notifications.length === 0) return;
    for (const n of notifications) this.queue.push(this.traced(n)); // a spread of a backlog's worth would overflow the stack
    if (this.queue.length > MAX_QUEUED) {
      const excess = this.queue.length - MAX_QUEUED;
      for (const n of this.queue.splice(0, excess)) this.sent(n, 'dropped: the publish queue was full');
      this.dropped += excess;
    }
    this.draining ??= outsideTraces(() => this.drain()).finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves once everything queued so far went out (or was given up on); for shutdown and tests. */
  async flushed(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    if (this.holdMs > 0) await sleep(this.holdMs);
    for (let attempt = 1; this.queue.length > 0;) {
      const batch = this.queue.slice(0, MAX_PIPELINE);
      try {
        // One publish per channel, of its notifications in order: a backlog's batch names a
        // room hundreds of times, and a subscriber parses one message instead of hundreds.
        const byChannel = new Map<string, LiveNotification[]>();
        for (const n of batch) {
          const channel = n.forUser ? userChannel(this.prefix, n.forUser) : roomChannel(this.prefix, n.event.roomId);
          const list = byChannel.get(channel) ?? [];
          byChannel.set(channel, list);
          list.push(n);
        }
        const pipeline = this.redis.pipeline();
        for (const [channel, list] of byChannel) pipeline.publish(channel, JSON.stringify(list));
        const results = await pipeline.exec();
        redisPublishes.inc(byChannel.size);
        const failed = results?.find(([error]) => error);
        if (failed) throw failed[0];
        this.queue.splice(0, batch.length);
        for (const n of batch) this.sent(n);
        attempt = 1;
        if (this.dropped > 0) {
          // Not only while Redis is away: a projector catching up on a backlog projects faster
          // than it publishes. Either way the query side's sweep finds what they missed.
          this.log.warn(
            'live notifications dropped: more waited for Redis than the queue holds (Redis away, or a backlog projected faster than it is published); subscribers catch up from history',
            {
              count: this.dropped,
            },
          );
          this.dropped = 0;
        }
      } catch (error) {
        if (attempt === 1)
          this.log.warn('publishing live notifications failed; retrying in the background', { error, queued: this.queue.length });
        await sleep(Math.min(2000, 100 * attempt++));
      }
    }
  }

  /** `n` with the context of a publish span in its record's trace, if it has one. */
  private traced(n: LiveNotification): LiveNotification {
    if (!n.trace) return n;
    const channel = n.forUser ? userChannel(this.prefix, n.forUser) : roomChannel(this.prefix, n.event.roomId);
    const parent = contextFromHeaders(n.trace);
    const span = startMessagingSpan(
      n.forUser ? 'user' : 'room',
      { system: 'redis', type: 'send', operation: 'publish', destination: channel },
      parent,
      { 'chat.event.type': n.event.type },
    );
    const published = { ...n, trace: traceHeaders(trace.setSpan(parent, span)) };
    this.spans.set(published, span);
    return published;
  }

  private sent(n: LiveNotification, failure?: string): void {
    const span = this.spans.get(n);
    if (span) endSpan(span, failure === undefined ? undefined : new Error(failure));
  }
}
