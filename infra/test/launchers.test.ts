import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseLauncher, previousLauncher, rememberLauncher } from '../src/launchers.ts';

// infra:up never swaps a store: a component started natively before (its data on this disk)
// stays native when a Docker engine appears, and one whose data is in a container is never
// started empty by the native launcher instead.

describe('the launcher of a component that is not running', () => {
  it('is the one that started it before, whatever can run now', () => {
    expect(chooseLauncher('kafka', 'native', true)).toMatchObject({ launcher: 'native', why: expect.stringContaining('holds its data') });
    expect(chooseLauncher('kafka', 'native', false).launcher).toBe('native');
    expect(chooseLauncher('kafka', 'container', true).launcher).toBe('container');
  });

  it('is refused when only a container holds its data and none can run', () => {
    expect(() => chooseLauncher('kafka', 'container', false)).toThrow(/last started in a container/);
  });

  it('is a container where one can run for a component never started here, else native', () => {
    expect(chooseLauncher('kafka', undefined, true).launcher).toBe('container');
    expect(chooseLauncher('kafka', undefined, false).launcher).toBe('native');
  });

  it('is remembered per component across runs', () => {
    const record = join(mkdtempSync(join(tmpdir(), 'launchers-')), 'infra', 'launchers.json');
    expect(previousLauncher('kafka', record)).toBeUndefined();
    rememberLauncher('kafka', 'native', record);
    rememberLauncher('registry', 'container', record);
    expect(previousLauncher('kafka', record)).toBe('native');
    expect(previousLauncher('registry', record)).toBe('container');
  });
});
