export * from './events.ts';
export * from './codec.ts';
export { loadEventSchemas, type AvroRecord } from './avro-files.ts';
export * from './live.ts';
export { backwardProblems, releasedSchemas } from './compatibility.ts';
export { mentionedNames } from './mentions.ts';
export * from './attachments.ts';
export * from './content.ts';
export * from './data-exports.ts';
