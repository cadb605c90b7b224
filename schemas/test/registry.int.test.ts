import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { describe, expect, it } from 'vitest';
import { loadConfig, topicName } from '@chat/platform';
import { EVENT_TOPIC, EventCodec, loadEventSchemas, subjectFor, type EventType } from '../src/index.ts';
import { removeAfterAll } from '../../test/src/leftovers.ts';

// Against the real registry (Apicurio's Confluent-compatible API): registration is
// idempotent, subjects are BACKWARD, and an incompatible change is refused.

const config = loadConfig();
const prefix = `t_registry_${Date.now().toString(36)}.`;
removeAfterAll(prefix);

describe('schema registry', () => {
  it('registers every event once, under topic + record name, with BACKWARD compatibility', async () => {
    const codec = new EventCodec(config.schemaRegistryUrl, prefix);
    await codec.registerAll();
    await codec.registerAll(); // a second start changes nothing
    for (const record of loadEventSchemas()) {
      const subject = subjectFor(topicName(prefix, EVENT_TOPIC[record.name as EventType]), record);
      const versions = (await (await fetch(`${config.schemaRegistryUrl}/subjects/${subject}/versions`)).json()) as number[];
      expect(versions, subject).toEqual([1]);
      const level = (await (await fetch(`${config.schemaRegistryUrl}/config/${subject}`)).json()) as { compatibilityLevel: string };
      expect(level.compatibilityLevel).toBe('BACKWARD');
    }
  });

  it('round-trips an event through the Confluent wire format', async () => {
    const codec = new EventCodec(config.schemaRegistryUrl, prefix);
    await codec.registerAll();
    const event = {
      type: 'MemberJoined' as const,
      role: 'MEMBER',
      eventId: crypto.randomUUID(),
      occurredAt: Date.now(),
      actorId: 'u1',
      commandId: null,
      roomId: crypto.randomUUID(),
      revision: 2,
      userId: 'u1',
    };
    const bytes = await codec.encode(event);
    expect(bytes[0]).toBe(0);
    // A fresh codec that registered nothing learns the type from the registry by schema id.
    expect(await new EventCodec(config.schemaRegistryUrl, prefix).decode(bytes)).toEqual(event);
  });

  it('refuses an incompatible change and accepts a compatible one', async () => {
    const codec = new EventCodec(config.schemaRegistryUrl, prefix);
    await codec.registerAll();
    const record = loadEventSchemas().find((r) => r.name === 'MessageSent')!;
    const subject = subjectFor(topicName(prefix, 'roomEvents'), record);
    const register = (fields: object[]) =>
      codec.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify({ ...record, fields: [...record.fields, ...fields] }) },
        { subject },
      );

    // A new field without a default: readers of the new schema could not read old events.
    await expect(register([{ name: 'priority', type: 'int' }])).rejects.toThrow();
    // With a default it is backward compatible.
    const { id } = await register([{ name: 'priority', type: 'int', default: 0 }]);
    expect(id).toBeGreaterThan(0);
    const versions = (await (await fetch(`${config.schemaRegistryUrl}/subjects/${subject}/versions`)).json()) as number[];
    expect(versions).toEqual([1, 2]);
  });

  it('sets aside records that can never decode, and says why', async () => {
    const codec = new EventCodec(config.schemaRegistryUrl, prefix);
    await codec.registerAll(); // the registry knows our schemas: an unknown id is the record's fault
    const giveUp = async () => false;
    expect(await codec.decodeRecord(Buffer.from('plain text'), giveUp)).toEqual({ undecodable: 'not a Confluent-framed record' });
    expect(await codec.decodeRecord(null, giveUp)).toEqual({ undecodable: 'record has no value' });
    const unknownSchema = Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1, 2, 3]);
    expect(await codec.decodeRecord(unknownSchema, giveUp)).toMatchObject({ undecodable: expect.any(String) });
  });

  it('treats a registry that knows none of our schemas as an outage, not a reason to set records aside', async () => {
    // A prefix nobody registered under stands for a registry that lost its storage.
    const lost = new EventCodec(config.schemaRegistryUrl, `t_lost_${Date.now().toString(36)}.`);
    const unknownSchema = Buffer.from([0, 0x7f, 0xff, 0xff, 0xf1, 1, 2, 3]);
    let waits = 0;
    const waitTwice = async () => ++waits <= 2;
    await expect(lost.decodeRecord(unknownSchema, waitTwice)).rejects.toThrow();
    expect(waits).toBe(3);
  });

  it('waits out an unreachable registry instead of calling a good record undecodable', async () => {
    const codec = new EventCodec(config.schemaRegistryUrl, prefix);
    await codec.registerAll();
    const bytes = await codec.encode({
      type: 'RoomCreated',
      topic: null,
      visibility: 'PUBLIC',
      kind: 'GROUP',
      eventId: crypto.randomUUID(),
      occurredAt: 1,
      actorId: 'a',
      commandId: null,
      roomId: 'r',
      revision: 1,
      name: 'n',
    });
    // A codec pointed at a port where nothing listens stands for the registry being down.
    const offline = new EventCodec('http://127.0.0.1:9/apis/ccompat/v7', prefix);
    let waits = 0;
    await expect(offline.decodeRecord(bytes, async () => ++waits < 2)).rejects.toThrow();
    expect(waits).toBe(2);
  });
});
