import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { Partitioners } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, quoteIdent, topicName } from '@chat/platform';
import { EventCodec, releasedSchemas, subjectFor, type DomainEvent } from '@chat/schemas';
import { freePort, startStack, type Stack } from '@chat/infra';
import { TestUsers } from '../src/accounts.ts';
import { collect, gql, wsClient } from '../src/graphql.ts';
import { runRebuild } from '../src/rebuild-cli.ts';

// ./chat rebuild while messages keep flowing and a subscriber stays connected: the read models
// are rebuilt from offset zero into a new schema, checked row for row against the live ones,
// and every service switches to them without a restart; the subscriber sees every event once,
// in order, across the switch, and so across the rollback after. Read models that do not match
// are refused, naming the table.

const CREATE = `mutation { createRoom(name: "replayed") { ... on RoomAccepted { roomId } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!) { sendMessage(roomId: $roomId, body: $body, clientMessageId: $key) {
  __typename ... on MessageAccepted { receipt { projected } } } }`;
const EVENTS = `subscription($roomId: ID!) { roomEvents(roomId: $roomId, after: "0") { __typename
  ... on MessageSentEvent { revision message { body } } ... on MemberJoinedEvent { revision } ... on RoomCreatedEvent { revision } } }`;
const NEWEST = `query($roomId: ID!) { messages(roomId: $roomId, last: 200) { edges { node { body } } } }`;

let stack: Stack;
let users: TestUsers;
let db: pg.Client;

beforeAll(async () => {
  stack = await startStack('rebuild');
  users = new TestUsers(stack.commandUrl);
  db = new pg.Client({ connectionString: stack.config.databaseUrl });
  await db.connect();
}, 180_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
});

function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return cliWith({}, ...args);
}

async function cliWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const { code, stdout, stderr } = await runRebuild(stack, ['--json', ...args], env);
  return { code, out: code === 0 || stdout ? stdout : stderr, err: stderr };
}

/** Every /metrics answer until `running` settles (connection refusals before it listens are skipped). */
async function scrapeUntil(url: string, running: Promise<unknown>): Promise<string[]> {
  const texts: string[] = [];
  let settled = false;
  void running.finally(() => (settled = true));
  while (!settled) {
    const text = await fetch(url)
      .then((r) => r.text())
      .catch(() => undefined);
    if (text) texts.push(text);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return texts;
}

const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

const control = async () =>
  (await db.query(`SELECT active, previous, phase FROM ${quoteIdent(stack.config.pgSchema)}.read_model_control`)).rows[0];
const countIn = async (schema: string, roomId: string) =>
  (await db.query(`SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.messages WHERE room_id = $1`, [roomId])).rows[0].n as number;

describe('./chat rebuild', () => {
  it('rebuilds into a new schema and switches to it while messages flow, then rolls back, with no gap or duplicate live', async () => {
    const base = stack.config.pgSchema;
    const ann = await users.token('ann');
    const ben = await users.token('ben');
    const roomId = (await gql(stack.commandUrl, CREATE, {}, ann)).createRoom.roomId as string;
    await gql(stack.commandUrl, JOIN, { roomId }, ben);
    const sent: string[] = [];
    const send = async (body: string) => {
      const answer = (await gql(stack.commandUrl, SEND, { roomId, body, key: body }, ann)).sendMessage;
      expect(answer.__typename).toBe('MessageAccepted');
      sent.push(body);
    };
    for (let i = 0; i < 150; i++) await send(`before ${i} @ben`);

    const client = wsClient(stack.queryWsUrl, ben);
    const events = collect<any>(client, EVENTS, { roomId }, Number.MAX_SAFE_INTEGER);
    let flowing = true;
    const flow = (async () => {
      for (let i = 0; flowing; i++) {
        await send(`during ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      // Its progress on /metrics, scraped while it runs (and lingers a moment at the end).
      const metricsPort = await freePort();
      const running = cliWith({ REBUILD_METRICS_PORT: String(metricsPort), REBUILD_METRICS_LINGER_MS: '2000' });
      const scrapes = await scrapeUntil(`http://127.0.0.1:${metricsPort}/metrics`, running);
      const rebuilt = await running;
      const last = scrapes.at(-1) ?? '';
      expect(gauge(last, 'rebuild_events_total')).toBeGreaterThanOrEqual(150);
      expect(gauge(last, 'rebuild_events_done')).toBe(gauge(last, 'rebuild_events_total'));
      expect(last).toMatch(/^rebuild_stage\{stage="comparing"\} 1$/m);
      expect(scrapes.some((text) => /^rebuild_stage\{stage="catching up"\} 1$/m.test(text))).toBe(true);
      expect(rebuilt.code, rebuilt.out).toBe(0);
      const outcome = JSON.parse(rebuilt.out);
      expect(outcome).toMatchObject({ switched: true, from: base, to: `${base}_rm1` });
      expect(Object.keys(outcome.tables)).toEqual(
        expect.arrayContaining(['messages', 'rooms', 'room_events', 'users', 'message_mentions']),
      );
      expect(outcome.tables.message_mentions.rows).toBeGreaterThanOrEqual(150);
      console.log(`rebuild: ${outcome.events} events in ${outcome.seconds} s, projectors paused ${outcome.pausedMs} ms`, outcome.pause);
      expect(await control()).toEqual({ active: `${base}_rm1`, previous: base, phase: 'serving' });
      await new Promise((resolve) => setTimeout(resolve, 500));

      const rolledBack = await cli('--rollback');
      expect(rolledBack.code, rolledBack.out).toBe(0);
      expect(JSON.parse(rolledBack.out)).toMatchObject({ switched: true, from: `${base}_rm1`, to: base });
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      flowing = false;
      await flow;
    }
    await send('after');

    // Every message once, in order, live and in history, whichever schema served them.
    const bodies = () => events.items.filter((e) => e.roomEvents.__typename === 'MessageSentEvent').map((e) => e.roomEvents.message.body);
    await expect.poll(() => bodies().at(-1), { timeout: 20_000 }).toBe('after');
    expect(bodies()).toEqual(sent);
    const revisions = events.items.map((e) => e.roomEvents.revision);
    expect(revisions).toEqual(revisions.map((_, i) => i + 1));
    const newest = (await gql(stack.queryUrl, NEWEST, { roomId }, ben)).messages.edges.map((e: any) => e.node.body);
    expect(newest).toEqual(sent.slice(-200));
    expect(await countIn(base, roomId)).toBe(sent.length);
    events.unsubscribe();
    await client.dispose();
  });

  it('refuses to switch to read models that differ, naming the table, and leaves the projectors running', async () => {
    const base = stack.config.pgSchema;
    const ann = await users.token('ann');
    const roomId = (await gql(stack.commandUrl, CREATE, {}, ann)).createRoom.roomId as string;
    const rooms = `${quoteIdent(base)}.rooms`;
    await db.query(`UPDATE ${rooms} SET name = 'tampered' WHERE room_id = $1`, [roomId]);
    try {
      const refused = await cli();
      expect(refused.code).toBe(1);
      const outcome = JSON.parse(refused.out);
      expect(outcome).toMatchObject({ switched: false, from: base });
      expect(outcome.differs.map((d: { table: string }) => d.table)).toEqual(['rooms']);
      expect(await control()).toMatchObject({ active: base, phase: 'serving' });
      const answer = (await gql(stack.commandUrl, SEND, { roomId, body: 'still projecting', key: 'k' }, ann)).sendMessage;
      expect(answer).toMatchObject({ __typename: 'MessageAccepted', receipt: { projected: true } });
    } finally {
      await db.query(`UPDATE ${rooms} SET name = 'replayed' WHERE room_id = $1`, [roomId]);
    }
  });

  it('reads events of both versions of MessageSent, old ones as PLAIN, and rebuilds them to the same row hashes twice', async () => {
    const ann = await users.id('ann');
    const topic = topicName(stack.config.topicPrefix, 'roomEvents');
    const codec = new EventCodec(stack.config.schemaRegistryUrl, stack.config.topicPrefix);
    await codec.registerAll();
    // The first version of MessageSent, as released, registered beside the current one.
    const v1 = releasedSchemas().find((r) => r.name === 'MessageSent')!;
    expect(v1.fields.map((f) => f.name)).not.toContain('format');
    const { id: v1Id } = await codec.registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(v1) },
      { subject: subjectFor(topic, v1) },
    );
    const roomId = crypto.randomUUID();
    const envelope = (revision: number) => ({
      eventId: crypto.randomUUID(),
      occurredAt: Date.now(),
      actorId: ann,
      commandId: null,
      roomId,
      revision,
    });
    const created: DomainEvent = {
      ...envelope(1),
      type: 'RoomCreated',
      name: 'versions',
      topic: null,
      visibility: 'PUBLIC',
      kind: 'GROUP',
    };
    const {
      type: _type,
      format: _format,
      ...old
    } = {
      ...envelope(2),
      type: 'MessageSent' as const,
      messageId: crypto.randomUUID(),
      body: 'written by v1',
      replyTo: null,
      format: 'PLAIN',
    };
    const current: DomainEvent = {
      ...envelope(3),
      type: 'MessageSent',
      messageId: crypto.randomUUID(),
      body: '**written by v2**',
      replyTo: null,
      format: 'MARKDOWN',
      attachments: [],
    };
    const producer = createKafka(stack.config, 'test-versions').producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic,
      messages: [await codec.encode(created), await codec.registry.encode(v1Id, old), await codec.encode(current)].map((value) => ({
        key: roomId,
        value,
      })),
    });
    await producer.disconnect();

    const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, first: 10) { edges { node { body format } } } }`;
    await expect
      .poll(async () => (await gql(stack.queryUrl, HISTORY, { roomId }, await users.token('ann'))).messages.edges.map((e: any) => e.node), {
        timeout: 20_000,
      })
      .toEqual([
        { body: 'written by v1', format: 'PLAIN' },
        { body: '**written by v2**', format: 'MARKDOWN' },
      ]);

    const first = await cli();
    expect(first.code, first.out).toBe(0);
    const second = await cli();
    expect(second.code, second.out).toBe(0);
    const [a, b] = [JSON.parse(first.out), JSON.parse(second.out)];
    expect(b.from).toBe(a.to);
    expect(b.tables).toEqual(a.tables);
    expect(a.tables.messages.rows).toBeGreaterThan(0);
  });

  it('counts a record the log cannot project apart from its outcome, and logs no error for it', async () => {
    // Not Avro at all: the live projector sets it aside as a dead letter, and so will the rebuild.
    const kafka = createKafka(stack.config, 'rebuild-test');
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: topicName(stack.config.topicPrefix, 'roomEvents'),
      messages: [{ key: crypto.randomUUID(), value: Buffer.from('not a record of ours') }],
    });
    await producer.disconnect();
    await expect
      .poll(async () => (await db.query(`SELECT count(*)::int AS n FROM ${quoteIdent((await control()).active)}.dead_letters`)).rows[0].n, {
        timeout: 20_000,
      })
      .toBeGreaterThan(0);

    const run = await cli();
    expect(run.code, run.out).toBe(0);
    expect(JSON.parse(run.out).foundInLog.deadLettered).toBeGreaterThan(0);
    // Its progress and outcome are on stderr and stdout; a record met again is no error of the rebuild.
    expect(run.err).not.toMatch(/"level":"error"/);
    expect(run.err).toMatch(/^catching up: [\d,]+ \/ [\d,]+ events, rate not measured yet$/m);
  });
});
