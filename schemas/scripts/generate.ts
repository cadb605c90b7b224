import { writeFileSync } from 'node:fs';
import { loadEventSchemas } from '../src/avro-files.ts';
import { generateTypes } from '../src/typegen.ts';

const target = new URL('../src/generated/events.ts', import.meta.url);
writeFileSync(target, generateTypes(loadEventSchemas()));
console.log(`wrote ${target.pathname}`);
