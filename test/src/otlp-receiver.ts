import { createServer, type IncomingMessage } from 'node:http';
import { freePort } from '@chat/infra';

// An OTLP/HTTP trace receiver for tests: takes what exporters POST to /v1/traces in the JSON
// encoding (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json) and keeps every span, with the
// service.name of the resource it came from.

/** OTLP span kinds, as the JSON encoding numbers them. */
export const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
  links: { traceId: string; spanId: string }[];
  status?: { code?: number };
}

export interface OtlpReceiver {
  /** What exporters are to be given as OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    void body(req).then((text) => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const payload = JSON.parse(text) as {
        resourceSpans?: {
          resource?: { attributes?: OtlpAttribute[] };
          scopeSpans?: {
            spans?: (Omit<ReceivedSpan, 'service' | 'attributes' | 'links'> & {
              attributes?: OtlpAttribute[];
              links?: ReceivedSpan['links'];
            })[];
          }[];
        }[];
      };
      for (const { resource, scopeSpans } of payload.resourceSpans ?? []) {
        const service = String(attributes(resource?.attributes)['service.name']);
        for (const scope of scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({ ...span, service, attributes: attributes(span.attributes), links: span.links ?? [] });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function attributes(list: OtlpAttribute[] | undefined): ReceivedSpan['attributes'] {
  return Object.fromEntries(
    (list ?? []).map(({ key, value }) => [
      key,
      value.stringValue ?? (value.intValue === undefined ? value.boolValue : Number(value.intValue)),
    ]),
  );
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
