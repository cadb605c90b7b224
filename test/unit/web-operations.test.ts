import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../web/codegen.ts';

// The web client's operation types are generated from the committed SDL of the one endpoint.
// Generated again here, in memory: a stale copy in the tree (an operation or the SDL changed
// without `npm run codegen -w @chat/web`) fails, and so does an operation the schema refuses.

const web = new URL('../../web/', import.meta.url).pathname;

describe('web client operations', () => {
  it('are valid against the committed SDL, and their generated types are up to date', async () => {
    const files = (await generate({ ...config, cwd: web, silent: true }, false)) as { filename: string; content: string }[];
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const committed = readFileSync(join(web, file.filename), 'utf8');
      expect(committed, `${file.filename} is stale: run npm run codegen -w @chat/web`).toBe(file.content);
    }
  }, 60_000);
});
