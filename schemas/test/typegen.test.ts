import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadEventSchemas } from '../src/avro-files.ts';
import { EVENT_TOPIC, type EventType } from '../src/events.ts';
import { generateTypes } from '../src/typegen.ts';

describe('generated event types', () => {
  it('match the .avsc files (run `npm run generate -w schemas` after editing a schema)', () => {
    const committed = readFileSync(new URL('../src/generated/events.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generateTypes(loadEventSchemas()));
  });

  it('every event carries the common fields of DESIGN.md: its aggregate id, and for room events the revision', () => {
    for (const record of loadEventSchemas()) {
      const names = record.fields.map((f) => f.name);
      const aggregate = EVENT_TOPIC[record.name as EventType] === 'roomEvents' ? ['roomId', 'revision'] : ['userId'];
      expect(names, record.name).toEqual(expect.arrayContaining(['eventId', 'occurredAt', 'actorId', 'commandId', ...aggregate]));
    }
  });
});
