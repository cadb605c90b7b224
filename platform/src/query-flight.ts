import type pg from 'pg';

// Statements sent without waiting for each answer, so that a transaction of many statements
// costs a round trip per read instead of one per statement. On this kind of machine a round
// trip to Postgres (a socket write and a wake-up on each side) costs more than most statements
// themselves, so a projected batch paid more for its eight round trips than for its rows.
//
// On a client made with `pipeline: true` (pg's pipeline mode) the statements go out at once,
// all those of one turn of the event loop in one socket write; Postgres runs them in the order
// sent, each seeing the ones before, so the order of effects is that of the code. On any other
// client they run one after another, as plain awaits would.

type Param = unknown;

export class QueryFlight {
  private readonly client: pg.Client;
  private pending: Promise<unknown>[] = [];
  /** The last statement sent, for a client without pipeline mode to queue behind. */
  private tail: Promise<unknown> = Promise.resolve();
  private corked = false;

  constructor(client: pg.Client) {
    this.client = client;
  }

  /** Sends a statement and goes on; its failure is thrown by the next `landed` or `query`. */
  send(text: string, values?: readonly Param[]): void {
    this.issue(text, values);
  }

  /** Sends a statement and waits for its rows, and for everything sent before it. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: readonly Param[]): Promise<pg.QueryResult<R>> {
    const result = this.issue<R>(text, values);
    await this.landed();
    return result;
  }

  /** Waits for every statement sent so far, and throws the first one's failure in the order sent. */
  async landed(): Promise<void> {
    const sent = this.pending;
    this.pending = [];
    const outcomes = await Promise.allSettled(sent);
    const failed = outcomes.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private issue<R extends pg.QueryResultRow>(text: string, values?: readonly Param[]): Promise<pg.QueryResult<R>> {
    // Unnamed: pg's pipeline mode forgets a named statement's preparation when its execution
    // fails, and would prepare it again under the same name on a later batch.
    const statement: pg.QueryConfig = values === undefined ? { text } : { text, values: [...values] };
    let result: Promise<pg.QueryResult<R>>;
    if (this.client.pipeline) {
      this.cork();
      result = this.client.query<R>(statement);
    } else {
      // After the one before, whatever its outcome: Postgres says what an aborted transaction allows.
      const send = () => this.client.query<R>(statement);
      result = this.tail.then(send, send);
    }
    result.catch(() => undefined); // reported by landed(), not as an unhandled rejection
    this.tail = result;
    this.pending.push(result);
    return result;
  }

  /** Holds the socket's writes until the end of this turn, so the turn's statements share one write. */
  private cork(): void {
    if (this.corked) return;
    const stream = this.client.connection.stream;
    stream.cork();
    this.corked = true;
    queueMicrotask(() => {
      this.corked = false;
      stream.uncork();
    });
  }
}

/**
 * A transaction whose statements fly together: BEGIN goes with the first statements `work`
 * sends, COMMIT with the last, and only reads wait for answers. A failure anywhere rolls back.
 */
export async function flightTransaction<T>(client: pg.Client, work: (flight: QueryFlight) => Promise<T>): Promise<T> {
  const flight = new QueryFlight(client);
  flight.send('BEGIN');
  try {
    const result = await work(flight);
    flight.send('COMMIT');
    await flight.landed();
    return result;
  } catch (error) {
    await flight.landed().catch(() => undefined);
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
