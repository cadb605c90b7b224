import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_SNAPSHOTS, printSnapshot } from '../src/schema-snapshots.ts';

describe('GraphQL schema snapshots', () => {
  it.each(SCHEMA_SNAPSHOTS)('$file.pathname matches the code (run `./chat schemas` after a change)', ({ file, schema }) => {
    expect(readFileSync(file, 'utf8')).toBe(printSnapshot(schema));
  });
});
