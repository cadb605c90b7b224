import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * parseArgs for the operator commands (`./chat rebuild`, `./chat dead-letters`): `--help`
 * prints `usage` and exits 0; an unknown option or a missing value prints what was wrong and
 * `usage`, and exits 64 (EX_USAGE), instead of a stack trace.
 */
export function commandArgs<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    process.exit(64);
  }
}
