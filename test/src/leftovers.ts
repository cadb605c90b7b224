import { afterAll } from 'vitest';
import { loadConfig } from '@chat/platform';
import { removeLeftovers, testNameOf } from '@chat/infra';

/**
 * After the file's tests, removes what they made on the shared servers under the test name
 * that `prefix` starts with (topics, groups, subjects, Redis keys, schemas, objects): a file that names
 * its own resources, rather than starting a stack (which removes its own), cleans up with this.
 */
export function removeAfterAll(prefix: string): void {
  const test = testNameOf(prefix);
  if (!test) throw new Error(`not a test name: ${prefix} (t_<label>_<base-36 time>)`);
  afterAll(() => removeLeftovers(loadConfig(), ({ name }) => name === test.name).then(() => undefined));
}
