import type { AvroRecord } from './avro-files.ts';

// Turns the .avsc records into TypeScript interfaces. Only the Avro shapes the events use
// are supported; anything else fails loudly so a new shape gets a deliberate mapping.

export function generateTypes(records: AvroRecord[]): string {
  const lines = ['// Generated from schemas/avro/*.avsc by `npm run generate -w schemas`. Do not edit.', ''];
  for (const record of records) {
    if (record.doc) lines.push(`/** ${record.doc} */`);
    lines.push(`export interface ${record.name} {`);
    for (const field of record.fields) {
      if (field.doc) lines.push(`  /** ${field.doc} */`);
      // `optional`: a field later versions added that writers may leave out (Avro writes its default).
      lines.push(`  ${field.name}${field.optional ? '?' : ''}: ${tsType(field.type, `${record.name}.${field.name}`)};`);
    }
    lines.push('}', '');
  }
  const names = records.map((r) => r.name);
  lines.push(`export const EVENT_TYPES = [${names.map((n) => `'${n}'`).join(', ')}] as const;`, '');
  lines.push('export interface EventPayloads {');
  for (const name of names) lines.push(`  ${name}: ${name};`);
  lines.push('}', '');
  return lines.join('\n');
}

function tsType(type: unknown, where: string): string {
  if (Array.isArray(type)) return type.map((t) => tsType(t, where)).join(' | ');
  if (typeof type === 'object' && type !== null && 'type' in type) {
    const shape = type as { type: unknown; items?: unknown; fields?: { name: string; type: unknown }[] };
    // An array of anything mapped here; a record nested in an event, as an inline object type.
    if (shape.type === 'array') return `Array<${tsType(shape.items, `${where}[]`)}>`;
    if (shape.type === 'record' && shape.fields) {
      return `{ ${shape.fields.map((f) => `${f.name}: ${tsType(f.type, `${where}.${f.name}`)};`).join(' ')} }`;
    }
    return tsType(shape.type, where);
  }
  switch (type) {
    case 'null':
      return 'null';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'bytes':
      return 'Buffer';
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      return 'number';
    default:
      throw new Error(`typegen: no TypeScript mapping for Avro type ${JSON.stringify(type)} at ${where}`);
  }
}
