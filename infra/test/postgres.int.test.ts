import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@chat/platform';
import { infraUp } from '../src/index.ts';
import { postgresAnswers } from '../src/postgres.ts';

// A newcomer's Postgres that answers but will not let `./chat` in (it wants a password, or has
// no such role) used to look like no Postgres at all: infra:up tried to start one, then waited a
// minute and timed out. Now it stops at once and says what to change.

const config = (databaseUrl: string) => loadConfig({ ...process.env, DATABASE_URL: databaseUrl });

describe('a Postgres that answers', () => {
  it('but refuses our role: infra:up stops at once, naming the role and what to change', async () => {
    const role = `nobody_${randomBytes(3).toString('hex')}`;
    const url = `postgres://${role}@127.0.0.1:5432/chat`;
    await expect(postgresAnswers(config(url))).rejects.toThrow(new RegExp(`answers but refuses the connection as ${role}`));
    const started = Date.now();
    const refusal = await infraUp({ ...process.env, DATABASE_URL: url }).then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(refusal).toMatch(/role .* does not exist/);
    expect(refusal).toMatch(/pg_hba\.conf/);
    expect(refusal).toMatch(/set DATABASE_URL/);
    expect(Date.now() - started).toBeLessThan(20_000); // not the minute's wait for a server to start
  });

  it('and lets us in: it answers', async () => {
    expect(await postgresAnswers(config('postgres://postgres@127.0.0.1:5432/chat'))).toBe(true);
  });
});

describe('no Postgres on the port', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    // A port that accepts and hangs up at once: nothing that speaks Postgres.
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is not there yet (not refused): the launcher may start one and wait', async () => {
    expect(await postgresAnswers(config(`postgres://postgres@127.0.0.1:${port}/chat`))).toBe(false);
  });
});
