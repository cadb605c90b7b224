import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, topicName, waitFor } from '@chat/platform';
import { startStack, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { collect, gql, instanceFetch, wsClient } from '../src/graphql.ts';
import { readRecord } from '../src/kafka.ts';
import { KIND, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../src/otlp-receiver.ts';

// One message's trace, as the three services export it over OTLP/HTTP (JSON) to a receiver
// this test runs: the mutation on the one endpoint, its proxied request to the command
// service, the record's send to Kafka (whose traceparent header names that span), its
// projection, the Redis publish and the delivery to a live subscriber, each the child of the
// one before; the projector's transaction in a trace of its own, linked to the record's span,
// with the Postgres statements under it; and a log line of the delivery with the trace's id.

const CREATE = `mutation { createRoom(name: "traced") { ... on RoomAccepted { roomId } } }`;
const SEND = `mutation($r: ID!, $body: String!, $k: ID!) { sendMessage(roomId: $r, body: $body, clientMessageId: $k) {
  ... on MessageAccepted { receipt { position { partition offset } } } ... on CommandError { code message } } }`;
// From the room's start: a subscription without a cursor misses what is committed before it is
// in place, and a mutation's answer can now come before that.
const LIVE = `subscription($r: ID!) { messageAdded(roomId: $r, after: "0") { body } }`;

let receiver: OtlpReceiver;
let stack: Stack;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  stack = await startStack('tracing', {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    LOG_LEVEL: 'debug',
  });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

describe('tracing', () => {
  it('follows a message from the mutation through Kafka, the projection and Redis to its delivery, in one trace', async () => {
    const alice = await signUp(stack.queryUrl, 'alice');
    const { createRoom } = await gql(stack.queryUrl, CREATE, {}, alice.accessToken);
    const socket = wsClient(stack.queryWsUrl, alice.accessToken);
    const live = collect<{ messageAdded: { body: string } }>(socket, LIVE, { r: createRoom.roomId }, 2);
    const send = (body: string) => gql(stack.queryUrl, SEND, { r: createRoom.roomId, body, k: body }, alice.accessToken);
    // The first message shows the subscription in place (replayed or live); the second, sent
    // after it arrived, is the one followed, live.
    await send('first');
    await waitFor('the first message to arrive live', async () => (live.items.length > 0 ? true : undefined));
    const { sendMessage } = await send('traced');
    expect((await live.done).map((item) => item.messageAdded.body)).toEqual(['first', 'traced']);
    await socket.dispose();

    const topic = topicName(stack.config.topicPrefix, 'roomEvents');
    const { partition, offset } = sendMessage.receipt.position;
    const sent = await waitFor('the span of the record sent to Kafka', async () =>
      receiver.spans.find(
        (s) =>
          s.service === 'command-service' &&
          s.name === `send ${topic}` &&
          s.attributes['messaging.destination.partition.id'] === String(partition) &&
          s.attributes['messaging.kafka.offset'] === Number(offset),
      ),
    );
    const inTrace = () => receiver.spans.filter((s) => s.traceId === sent.traceId);
    const named = (service: string, name: string) => inTrace().find((s) => s.service === service && s.name === name);
    await waitFor('the delivery to be exported', async () => named('query-service', 'subscription messageAdded'));
    const byId = new Map(inTrace().map((s) => [s.spanId, s]));
    const parentOf = (span: ReceivedSpan) => byId.get(span.parentSpanId ?? '');
    const childOf = (parent: ReceivedSpan, service: string, kind: number) =>
      inTrace().find((s) => s.parentSpanId === parent.spanId && s.service === service && s.kind === kind);

    // The query service: its HTTP request is the trace's root, the mutation inside it, and the
    // proxied request to the command service inside that.
    expect(new Set(inTrace().map((s) => s.service))).toEqual(new Set(['query-service', 'command-service', 'projector']));
    const commandMutation = parentOf(sent);
    expect(commandMutation).toMatchObject({ service: 'command-service', name: 'mutation sendMessage' });
    const commandRequest = parentOf(commandMutation!);
    expect(commandRequest).toMatchObject({ service: 'command-service', kind: KIND.server });
    const proxied = parentOf(commandRequest!);
    expect(proxied).toMatchObject({ service: 'query-service', kind: KIND.client });
    const queryMutation = parentOf(proxied!);
    expect(queryMutation).toMatchObject({ service: 'query-service', name: 'mutation sendMessage' });
    const queryRequest = parentOf(queryMutation!);
    expect(queryRequest).toMatchObject({ service: 'query-service', kind: KIND.server, attributes: { 'http.request.method': 'POST' } });
    expect(queryRequest!.parentSpanId ?? '').toBe('');
    // The command's own Redis work (its rate limit) is in its trace too.
    expect(inTrace().some((s) => s.service === 'command-service' && s.attributes['db.system.name'] === 'redis')).toBe(true);

    // The record's header carries the span that sent it, and the projection continues it.
    const record = await readRecord(createKafka(stack.config, 'test-tracing'), topic, partition, offset);
    expect(record.headers?.traceparent?.toString()).toBe(`00-${sent.traceId}-${sent.spanId}-01`);
    expect(sent.kind).toBe(KIND.producer);
    const projected = childOf(sent, 'projector', KIND.consumer);
    expect(projected).toMatchObject({ name: `process ${topic}`, attributes: { 'chat.event.type': 'MessageSent' } });
    const published = childOf(projected!, 'projector', KIND.producer);
    expect(published).toMatchObject({ name: 'publish room', attributes: { 'messaging.system': 'redis' } });
    const delivered = childOf(published!, 'query-service', KIND.consumer);
    expect(delivered).toMatchObject({ name: 'deliver room', attributes: { 'chat.subscribers': 1 } });
    expect(parentOf(named('query-service', 'subscription messageAdded')!)).toBe(delivered);

    // The transaction that wrote it: a trace of its own, linked to the record's span, with the
    // statements as its children.
    const batch = receiver.spans.find(
      (s) => s.service === 'projector' && s.name === 'project batch' && s.links.some((l) => l.spanId === projected!.spanId),
    );
    expect(batch).toBeDefined();
    expect(batch!.traceId).not.toBe(sent.traceId);
    expect(batch!.links).toContainEqual(expect.objectContaining({ traceId: sent.traceId, spanId: projected!.spanId }));
    const statements = receiver.spans.filter((s) => s.parentSpanId === batch!.spanId && s.attributes['db.system.name'] === 'postgresql');
    expect(statements.map((s) => s.attributes['db.query.text'])).toContain('COMMIT');

    // A log line of the delivery names the trace and the span.
    const lines = readFileSync(stack.instance('query-service').log, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'delivering a live event', trace_id: sent.traceId, span_id: delivered!.spanId }),
    );
  });

  it('continues each operation of a batch in the trace its own extensions name', async () => {
    const bo = await signUp(stack.queryUrl, 'batcher');
    // What the one endpoint sends when mutations of several requests leave together.
    const parents = [`00-${'a1'.repeat(16)}-${'b1'.repeat(8)}-01`, `00-${'a2'.repeat(16)}-${'b2'.repeat(8)}-01`];
    const operation = (traceparent: string) => ({
      query: CREATE,
      extensions: { chatCaller: { clientAddress: '127.0.0.1', authorization: `Bearer ${bo.accessToken}` }, chatTrace: traceparent },
    });
    const response = await instanceFetch(stack.commandUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(parents.map(operation)),
    });
    expect(((await response.json()) as unknown[]).length).toBe(2);
    for (const parent of parents) {
      const [, traceId, spanId] = parent.split('-');
      const span = await waitFor(`the operation span under ${parent}`, async () =>
        receiver.spans.find((s) => s.service === 'command-service' && s.name === 'mutation createRoom' && s.traceId === traceId),
      );
      expect(span.parentSpanId).toBe(spanId);
    }
  });
});
