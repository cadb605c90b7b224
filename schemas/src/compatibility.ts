import avro from 'avsc';
import { fileURLToPath } from 'node:url';
import { loadEventSchemas, type AvroRecord } from './avro-files.ts';

// Schema evolution is checked before any registry sees a change: every event schema as last
// released (schemas/released/, refreshed by `npm run release -w schemas` when a version ships)
// must be readable by the schema of the same name now (BACKWARD, as the registry enforces),
// so events already in the log decode with today's reader schema, new fields taking their defaults.

export const RELEASED_DIR = fileURLToPath(new URL('../released/', import.meta.url));

/** What keeps `current` from reading events written with `released`; empty when compatible. */
export function backwardProblems(released: readonly AvroRecord[], current: readonly AvroRecord[]): string[] {
  const byName = new Map(current.map((record) => [`${record.namespace}.${record.name}`, record]));
  return released.flatMap((old) => {
    const name = `${old.namespace}.${old.name}`;
    const now = byName.get(name);
    if (!now) return [`${name} was released and is gone: its events in the log could no longer be read`];
    try {
      avro.Type.forSchema(now as avro.Schema).createResolver(avro.Type.forSchema(old as avro.Schema));
      return [];
    } catch (error) {
      return [`${name} cannot read what its released version wrote: ${(error as Error).message}`];
    }
  });
}

export function releasedSchemas(): AvroRecord[] {
  return loadEventSchemas(RELEASED_DIR);
}
