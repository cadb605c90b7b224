import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AVRO_DIR } from '../src/avro-files.ts';
import { RELEASED_DIR } from '../src/compatibility.ts';

// Marks the event schemas as they are now as released: later changes must stay able to read
// them (the compatibility test checks every change against this copy).
for (const file of readdirSync(RELEASED_DIR)) if (file.endsWith('.avsc')) rmSync(join(RELEASED_DIR, file));
for (const file of readdirSync(AVRO_DIR)) if (file.endsWith('.avsc')) copyFileSync(join(AVRO_DIR, file), join(RELEASED_DIR, file));
console.log(`released the schemas in ${AVRO_DIR} to ${RELEASED_DIR}`);
