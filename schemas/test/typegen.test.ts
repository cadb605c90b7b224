import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadEventSchemas } from '../src/avro-files.ts';
import { generateTypes } from '../src/typegen.ts';

describe('generated event types', () => {
  it('match the .avsc files (run `npm run generate -w schemas` after editing a schema)', () => {
    const committed = readFileSync(new URL('../src/generated/events.ts', import.meta.url), 'utf8');
    expect(committed).toBe(generateTypes(loadEventSchemas()));
  });

  it('every event carries the common fields of DESIGN.md', () => {
    for (const record of loadEventSchemas()) {
      const names = record.fields.map((f) => f.name);
      expect(names, record.name).toEqual(expect.arrayContaining(['eventId', 'occurredAt', 'actorId', 'commandId', 'roomId']));
    }
  });
});
