import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createPgPool, loadConfig, sleep } from '@chat/platform';

// A connection that Postgres closes while the service holds it checked out between two
// statements (a restart's fast shutdown terminates every backend) is an 'error' event on that
// client, which pg-pool stops listening to at checkout: unheard, it ended the projector. The
// pool's clients always have a listener: the holder's next statement fails (an outage, waited
// out by its caller), and the pool opens a fresh connection for the next checkout.

const config = loadConfig();
const pools: pg.Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
});

describe('a Postgres pool', () => {
  for (const pipeline of [false, true]) {
    it(`survives the connection of a checked-out client being terminated (pipeline ${pipeline})`, async () => {
      const pool = createPgPool(config, 2, { pipeline });
      pools.push(pool);
      const client = await pool.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const admin = new pg.Client({ connectionString: config.databaseUrl });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await admin.end();
      await sleep(300); // the termination reaches the client while it is idle in our hands

      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release(true);
      expect((await pool.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
    });
  }
});
