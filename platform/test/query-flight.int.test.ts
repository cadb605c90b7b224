import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { flightTransaction, loadConfig, QueryFlight } from '@chat/platform';

// Statements sent together on a pipelined connection, against the real Postgres: they run in
// the order sent, a turn's statements share one socket write, and a failure is reported as the
// statement that failed (not as the "transaction is aborted" of those behind it), rolling back.

const config = loadConfig();
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: config.databaseUrl, pipeline: true });
  await client.connect();
  await client.query('CREATE TEMP TABLE flight (n int PRIMARY KEY)');
});

afterAll(async () => {
  await client.end();
});

describe('a query flight', () => {
  it('sends the statements of one turn in one write, runs them in order and commits them together', async () => {
    // What reaches the socket's own write (one system call each), not the messages pg hands it.
    const socket = client.connection.stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
    const original = { _write: socket._write, _writev: socket._writev };
    let writes = 0;
    for (const key of ['_write', '_writev'] as const) {
      socket[key] = (...args: unknown[]) => {
        writes++;
        return original[key].apply(socket, args);
      };
    }
    try {
      const seen = await flightTransaction(client, async (flight) => {
        flight.send('INSERT INTO flight VALUES ($1)', [1]);
        flight.send('UPDATE flight SET n = n + $1', [1]);
        return (await flight.query<{ n: number }>('SELECT n FROM flight')).rows;
      });
      expect(seen).toEqual([{ n: 2 }]);
    } finally {
      Object.assign(socket, original);
    }
    // BEGIN, two writes and the read in one write; COMMIT in a second.
    expect(writes).toBe(2);
    expect((await client.query('SELECT n FROM flight')).rows).toEqual([{ n: 2 }]);
  });

  it('throws the statement that failed and rolls everything back', async () => {
    const failure = await flightTransaction(client, async (flight) => {
      flight.send('INSERT INTO flight VALUES ($1)', [3]);
      flight.send('INSERT INTO flight VALUES ($1)', [2]); // a duplicate key
      flight.send('INSERT INTO flight VALUES ($1)', [4]);
    }).catch((error: unknown) => error);
    expect((failure as { code?: string }).code).toBe('23505');
    expect((await client.query('SELECT n FROM flight ORDER BY n')).rows).toEqual([{ n: 2 }]);
  });

  it('waits for each statement in turn on a connection without pipeline mode', async () => {
    const plain = new pg.Client({ connectionString: config.databaseUrl });
    await plain.connect();
    try {
      const flight = new QueryFlight(plain);
      flight.send('CREATE TEMP TABLE plain_flight (n int)');
      flight.send('INSERT INTO plain_flight VALUES ($1), ($2)', [1, 2]);
      const { rows } = await flight.query<{ sum: string }>('SELECT sum(n) FROM plain_flight');
      expect(rows).toEqual([{ sum: '3' }]);
    } finally {
      await plain.end();
    }
  });
});
