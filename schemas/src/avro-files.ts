import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The .avsc files are the source of truth for every event; types and codecs derive from them.

export interface AvroField {
  name: string;
  type: unknown;
  doc?: string;
  default?: unknown;
  /** Ours, beside Avro's: writers may leave the field out (it has a default). */
  optional?: boolean;
}

export interface AvroRecord {
  type: 'record';
  name: string;
  namespace: string;
  doc?: string;
  fields: AvroField[];
}

export const AVRO_DIR = fileURLToPath(new URL('../avro/', import.meta.url));

/** Every event schema, sorted by record name so generated output is stable. */
export function loadEventSchemas(dir = AVRO_DIR): AvroRecord[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.avsc'))
    .sort()
    .map((file) => JSON.parse(readFileSync(new URL(file, `file://${dir}`), 'utf8')) as AvroRecord);
}
