import { describe, expect, it } from 'vitest';
import { loadEventSchemas, type AvroRecord } from '../src/avro-files.ts';
import { backwardProblems, releasedSchemas } from '../src/compatibility.ts';

// Every change to an event schema must read what the released version wrote, checked here
// before any registry sees it (the registry checks again, BACKWARD, when services register).

const current = loadEventSchemas();
const sent = () => structuredClone(current.find((r) => r.name === 'MessageSent')!);
const others = current.filter((r) => r.name !== 'MessageSent');

describe('event schema evolution', () => {
  it('keeps every released schema readable by the current one', () => {
    expect(releasedSchemas().length).toBeGreaterThan(0);
    expect(backwardProblems(releasedSchemas(), current)).toEqual([]);
  });

  it('finds a new field without a default, a changed type and a removed event', () => {
    const noDefault: AvroRecord = sent();
    noDefault.fields.push({ name: 'priority', type: 'int' });
    expect(backwardProblems(current, [...others, noDefault])).toEqual([expect.stringMatching(/^chat\.events\.MessageSent cannot read/)]);

    const retyped: AvroRecord = sent();
    retyped.fields.find((f) => f.name === 'body')!.type = 'long';
    expect(backwardProblems(current, [...others, retyped])).toHaveLength(1);

    expect(backwardProblems(current, others)).toEqual([expect.stringMatching(/MessageSent was released and is gone/)]);
  });

  it('accepts a new field with a default', () => {
    const withDefault: AvroRecord = sent();
    withDefault.fields.push({ name: 'pinned', type: 'boolean', default: false });
    expect(backwardProblems(current, [...others, withDefault])).toEqual([]);
  });
});
