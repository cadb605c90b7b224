import { writeFileSync } from 'node:fs';
import { SCHEMA_SNAPSHOTS, printSnapshot } from '../test/src/schema-snapshots.ts';

// Writes each GraphQL service's schema as SDL next to it, for client developers and code
// generators. A test fails when a snapshot is stale: run `./chat schemas` after changing one.
for (const { file, schema } of SCHEMA_SNAPSHOTS) {
  writeFileSync(file, printSnapshot(schema));
  console.log(`wrote ${file.pathname}`);
}
