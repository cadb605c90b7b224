import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARIABLES } from '@chat/platform';

// The README's configuration table and the env schema every service checks at start
// (platform/src/env-schema.ts) must list the same variables: one documented but not checked
// is a typo waiting to be ignored, one checked but not documented is a setting nobody finds.

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function tableVariables(): string[] {
  const section = README.slice(README.indexOf('\n## Configuration\n'));
  const table = section.slice(0, section.indexOf('\n## ', 1));
  const names = new Set<string>();
  for (const line of table.split('\n')) {
    const firstCell = /^\| (.*?) \|/.exec(line)?.[1];
    if (!firstCell) continue;
    // Variables are the upper-case names in backticks outside the explanations in parentheses.
    const outside = firstCell.replace(/\([^()]*\)/g, '');
    for (const [, name] of outside.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(name!);
  }
  return [...names].sort();
}

describe('the configuration table', () => {
  it('lists exactly the variables the env schema checks', () => {
    // TEST_… variables are hooks for the tests' fault injection, not settings.
    expect(tableVariables()).toEqual(ENV_VARIABLES.filter((name) => !name.startsWith('TEST_')).sort());
  });
});
