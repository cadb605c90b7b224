import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { sleep, topicName } from '@chat/platform';
import { loadEventSchemas, type AvroRecord } from './avro-files.ts';
import { ContentIntegrityError } from '@chat/platform';
import { isSealable, openContent, type ContentOpener } from './content.ts';
import { EVENT_NAMESPACE, EVENT_TOPIC, isEventType, type DomainEvent, type EventType } from './events.ts';

// Encodes events as Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro
// body) with schemas registered in the registry, and decodes any such record back.
//
// Subject naming: TopicRecordNameStrategy, `<topic>-<record full name>`, because one topic
// carries several event types and each must evolve under its own compatibility check.

export const MAGIC_BYTE = 0;

export function subjectFor(topic: string, record: Pick<AvroRecord, 'namespace' | 'name'>): string {
  return `${topic}-${record.namespace}.${record.name}`;
}

export class UnknownEventError extends Error {
  override name = 'UnknownEventError';
}

export type DecodeOutcome = { event: DomainEvent } | { undecodable: string };

/** A record that can never decode, as opposed to a registry that is unreachable for a while. */
export function isUndecodable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof UnknownEventError) return true;
  if ((error as { status?: number }).status === 404) return true; // no such schema id
  // avsc's errors for a body that does not match its schema.
  return error instanceof RangeError || /truncated buffer|invalid union index/i.test(error.message);
}

export class EventCodec {
  readonly registry: SchemaRegistry;
  private readonly topicPrefix: string;
  private readonly ids = new Map<EventType, number>();
  private readonly typeById = new Map<number, EventType>();
  /** Each event as this code knows it: the reader schema every record is decoded into. */
  private readonly readers = new Map(loadEventSchemas().map((record) => [record.name, avro.Type.forSchema(record as avro.Schema)]));
  /** Per writer schema id: how its records become the reader's (fields added since get their defaults). */
  private readonly resolutions = new Map<number, { reader: avro.Type; resolver: avro.Resolver | undefined }>();

  private readonly registryUrl: string;
  /** The keys sealed content opens with, for readers that need it (openSealed). */
  private opener: ContentOpener | undefined;

  constructor(registryUrl: string, topicPrefix: string) {
    this.registry = new SchemaRegistry({ host: registryUrl, clientId: 'chat' });
    this.registryUrl = registryUrl;
    this.topicPrefix = topicPrefix;
  }

  /**
   * Registers every event schema under its subject with BACKWARD compatibility. Idempotent:
   * an unchanged schema gets its existing id; an incompatible change is refused by the
   * registry and this throws.
   */
  async registerAll(): Promise<void> {
    for (const record of loadEventSchemas()) {
      if (!isEventType(record.name)) throw new UnknownEventError(`schema ${record.name} has no event type`);
      const topic = topicName(this.topicPrefix, EVENT_TOPIC[record.name]);
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(record) },
        { subject: subjectFor(topic, record) },
      );
      this.ids.set(record.name, id);
      this.typeById.set(id, record.name);
    }
  }

  /** Lets openSealed open content with these keys (the projector's PgContentKeys). */
  openWith(opener: ContentOpener): this {
    this.opener = opener;
    return this;
  }

  /**
   * Decoded events with their sealed content opened (schemas/src/content.ts), a batch at a time:
   * one read of the key tables. Throws ContentIntegrityError for content no key here opens.
   */
  async openSealed(events: readonly DomainEvent[]): Promise<DomainEvent[]> {
    if (!events.some((event) => isSealable(event) && event.sealed)) return [...events];
    if (!this.opener) throw new ContentIntegrityError('sealed content to open, and no content keys to open it with');
    return openContent(events, this.opener);
  }

  async encode(event: DomainEvent): Promise<Buffer> {
    const id = this.ids.get(event.type);
    if (id === undefined) throw new UnknownEventError(`no registered schema for ${event.type}; call registerAll() first`);
    const { type: _type, ...payload } = event;
    return this.registry.encode(id, payload);
  }

  async decode(buffer: Buffer): Promise<DomainEvent> {
    if (buffer.length < 5 || buffer[0] !== MAGIC_BYTE) throw new UnknownEventError('not a Confluent-framed record');
    const id = buffer.readInt32BE(1);
    const type = this.typeById.get(id) ?? (await this.typeOfSchema(id));
    const { reader, resolver } = this.resolutions.get(id) ?? (await this.resolutionOf(id, type));
    const payload = reader.fromBuffer(buffer.subarray(5), resolver) as Record<string, unknown>;
    return { type, ...payload } as DomainEvent;
  }

  /**
   * Decodes one Kafka record value, waiting out registry outages: between attempts it calls
   * `keepWaiting`, and gives up (rethrowing) once that answers false. A record that can
   * never decode comes back as `undecodable`, for the caller to set aside without blocking.
   */
  async decodeRecord(value: Buffer | null, keepWaiting: () => Promise<boolean>): Promise<DecodeOutcome> {
    for (;;) {
      try {
        if (!value) throw new UnknownEventError('record has no value');
        return { event: await this.decode(value) };
      } catch (error) {
        // A schema id the registry does not know is a bad record, unless the registry knows
        // none of our schemas at all: then it has lost its storage (or this is the wrong
        // registry), an outage to wait out, not a reason to set the whole backlog aside.
        const undecodable = isUndecodable(error) && !((error as { status?: number }).status === 404 && (await this.lostOurSchemas()));
        if (undecodable) return { undecodable: error instanceof Error ? error.message : String(error) };
        if (!(await keepWaiting())) throw error;
        await sleep(1000);
      }
    }
  }

  /**
   * Whether the registry has none of our subjects (asked directly: the client caches schemas).
   * Two subjects every deployment registers at start stand for all of them.
   */
  private async lostOurSchemas(): Promise<boolean> {
    try {
      for (const type of ['RoomCreated', 'UserRegistered'] as const) {
        const subject = subjectFor(topicName(this.topicPrefix, EVENT_TOPIC[type]), { namespace: EVENT_NAMESPACE, name: type });
        const response = await fetch(`${this.registryUrl}/subjects/${encodeURIComponent(subject)}/versions`, {
          signal: AbortSignal.timeout(5000),
        });
        if (response.ok) return false;
      }
      return true;
    } catch {
      return true; // cannot tell: treat it as the outage it probably is
    }
  }

  /** How records written with schema `id` read as today's `type` (the registry's client caches the writer schema). */
  private async resolutionOf(id: number, type: EventType) {
    const writer = (await this.registry.getSchema(id)) as unknown as avro.Type;
    const reader = this.readers.get(type);
    if (!reader) throw new UnknownEventError(`no reader schema for ${type}`);
    const resolution = { reader, resolver: reader.equals(writer) ? undefined : reader.createResolver(writer) };
    this.resolutions.set(id, resolution);
    return resolution;
  }

  /** Old events may carry schema ids this process did not register: ask the registry. */
  private async typeOfSchema(id: number): Promise<EventType> {
    const schema = (await this.registry.getSchema(id)) as { name?: string };
    const name = schema.name?.startsWith(`${EVENT_NAMESPACE}.`) ? schema.name.slice(EVENT_NAMESPACE.length + 1) : '';
    if (!isEventType(name)) throw new UnknownEventError(`schema id ${id} (${schema.name}) is not a known event`);
    this.typeById.set(id, name);
    return name;
  }
}
