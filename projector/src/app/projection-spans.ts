import type { KafkaMessage } from 'kafkajs';
import { ROOT_CONTEXT, trace, type Span } from '@opentelemetry/api';
import { contextFromHeaders, endSpan, linksTo, startMessagingSpan, traceHeaders, tracer, withSpan } from '@chat/platform';
import { isRoomEvent, type LiveNotification } from '@chat/schemas';
import type { DecodedRecord, PartitionBatch } from '../adapters/pg-projection.ts';

// Traces of the live projection. Each record continues the trace its headers carry (the
// command's): a span from its decoding to the commit of the transaction that wrote it, and the
// live notifications it caused carry that span on to Redis and the query service. A transaction
// writes records of many commands gathered over many partitions, so it has a trace of its own
// ("project batch", linked to every record's span), and the Postgres statements are its children:
// parenting them on one record would put every other record's work in that record's trace.
//
// Spans of records that are never written here (the gatherer stopped, a partition read again
// from its checkpoint) are never ended, so never exported; the weak map lets them go.

export class ProjectionSpans {
  private readonly spans = new WeakMap<DecodedRecord, Span>();
  private readonly group: string;

  constructor(group: string) {
    this.group = group;
  }

  /** Starts a span for each record of a fetched batch; `records` are `messages` decoded, in the same order. */
  start(topic: string, partition: number, messages: readonly KafkaMessage[], records: readonly DecodedRecord[]): void {
    records.forEach((record, i) => {
      const span = startMessagingSpan(
        topic,
        { system: 'kafka', type: 'process', operation: 'process', destination: topic },
        contextFromHeaders(messages[i]?.headers),
        {
          'messaging.destination.partition.id': String(partition),
          'messaging.consumer.group.name': this.group,
          'messaging.kafka.offset': Number(record.offset),
          ...('event' in record ? { 'chat.event.type': record.event.type } : { 'chat.dead_letter': true }),
        },
      );
      this.spans.set(record, span);
    });
  }

  /**
   * Runs `write` (one transaction of `batches`) in a span of its own, linked to each record's;
   * after it committed, stamps the notifications with their record's trace and ends the
   * records' spans.
   */
  async write<T extends { notifications: LiveNotification[] }>(batches: readonly PartitionBatch[], write: () => Promise<T>): Promise<T> {
    const records = batches.flatMap((b) => b.records.flatMap((r) => (this.spans.has(r) ? [{ record: r, span: this.spans.get(r)! }] : [])));
    const span = tracer.startSpan(
      'project batch',
      {
        links: linksTo(records.map((r) => r.span)),
        attributes: { 'messaging.batch.message_count': records.length, 'chat.partitions': batches.length },
      },
      ROOT_CONTEXT,
    );
    let result: T;
    try {
      result = await withSpan(span, write, ROOT_CONTEXT);
      span.end();
    } catch (error) {
      endSpan(span, error);
      throw error;
    }
    const byRevision = new Map<string, Span>();
    for (const { record, span } of records) {
      if ('event' in record && isRoomEvent(record.event)) byRevision.set(`${record.event.roomId}:${record.event.revision}`, span);
    }
    for (const notification of result.notifications) {
      const origin = byRevision.get(`${notification.event.roomId}:${notification.event.revision}`);
      const carried = origin && traceHeaders(trace.setSpan(ROOT_CONTEXT, origin));
      if (carried?.traceparent) notification.trace = carried;
    }
    for (const { record, span } of records) {
      this.spans.delete(record);
      span.end();
    }
    return result;
  }
}
