import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Message, type Producer as KafkaJsProducer } from 'kafkajs';
import {
  Consumer as PltConsumer,
  FetchIsolationLevels,
  MessagesStreamModes,
  Producer as PltProducer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { loadConfig } from '@chat/platform';
import { cpuMs } from './proc.ts';
import { summarize } from './stats.ts';

// A spike: kafkajs 2.2.4 against @platformatic/kafka on the command service's Kafka workload,
// against the real broker. Each client appends the way the appender does (one transactional
// producer, idempotent, acks all, one transaction at a time):
//   seq R=1 / seq R=20: back-to-back transactions of R records (~300-byte values, three headers),
//                       R=20 spread over the topic's 12 partitions;
//   seq R=1 +gap:       the same with GAP_MS idle between a commit and the next begin, so the
//                       difference to back-to-back is what CONCURRENT_TRANSACTIONS costs;
//   open loop:          commands arrive at RATE/s over KEYS keys; a pump sends what arrived while
//                       the previous transaction committed (as transaction-pump.ts does) and each
//                       command's latency runs from its scheduled arrival to the commit's answer.
// Per case: transactions/s, transaction p50/p99/max, requests per transaction by API (counted in
// the client: kafkajs's producer.network.request events, platformatic's diagnostics channel),
// CPU of this process (process.cpuUsage) and of the broker's JVM (/proc/<pid>/stat) over the same
// window. Then a short pass through a counting TCP proxy checks the client-side counts on the wire,
// and a correctness pass per client: commit, abort, commit on a one-partition topic read back
// by a read-committed consumer of the same client, and fencing by a second producer of the same
// transactional id.
//
// "kafkajs+cache" is kafkajs with its transaction coordinator lookup cached by wrapping the cluster
// it creates (a private symbol of the Kafka object: a hack, measured to show what it would save).
//
// Usage: flock /tmp/chat-bench.lock npm run bench:kafka-clients
//   SECONDS (per case, default 10), RATE (default 1000), KEYS (default 100), GAP_MS (default 10),
//   CLIENTS (default kafkajs,kafkajs+cache,platformatic), WIRE_TRANSACTIONS (default 200).

const SECONDS = Number(process.env.SECONDS ?? 10);
const RATE = Number(process.env.RATE ?? 1000);
const KEYS = Number(process.env.KEYS ?? 100);
const GAP_MS = Number(process.env.GAP_MS ?? 10);
const WIRE_TRANSACTIONS = Number(process.env.WIRE_TRANSACTIONS ?? 200);
const CLIENTS = (process.env.CLIENTS ?? 'kafkajs,kafkajs+cache,platformatic').split(',').map((c) => c.trim()) as ClientName[];
const PARTITIONS = 12;
const VALUE_BYTES = 300;
const WARMUP_TRANSACTIONS = 30;

type ClientName = 'kafkajs' | 'kafkajs+cache' | 'platformatic';

const API_NAMES: Record<number, string> = {
  0: 'Produce',
  1: 'Fetch',
  2: 'ListOffsets',
  3: 'Metadata',
  8: 'OffsetCommit',
  9: 'OffsetFetch',
  10: 'FindCoordinator',
  11: 'JoinGroup',
  12: 'Heartbeat',
  13: 'LeaveGroup',
  14: 'SyncGroup',
  18: 'ApiVersions',
  19: 'CreateTopics',
  20: 'DeleteTopics',
  22: 'InitProducerId',
  24: 'AddPartitionsToTxn',
  25: 'AddOffsetsToTxn',
  26: 'EndTxn',
  28: 'TxnOffsetCommit',
  60: 'DescribeCluster',
};
const apiName = (key: number) => API_NAMES[key] ?? `api${key}`;

/** A record as the appender builds it, before a client's own message shape. */
interface Rec {
  key: string;
  value: Buffer;
  partition: number;
  headers: Record<string, string>;
}

interface TxClient {
  readonly name: ClientName;
  /** One transaction carrying `records`, committed (aborted and rethrown on failure). */
  transact(records: Rec[]): Promise<void>;
  close(): Promise<void>;
}

// ---- request counting -------------------------------------------------------------------------

/** Requests counted by the clients themselves, by API name; only while `counting`. */
const clientCounts = new Map<string, number>();
/** Requests counted on the wire by the proxy, by API name; only while `counting`. */
const wireCounts = new Map<string, number>();
let counting = false;
const bump = (counts: Map<string, number>, name: string) => {
  if (counting) counts.set(name, (counts.get(name) ?? 0) + 1);
};

// @platformatic/kafka publishes every request it writes on this diagnostics channel.
subscribe('tracing:plt:kafka:connections:api:start', onPlatformaticRequest);
function onPlatformaticRequest(message: unknown): void {
  const { apiKey } = message as { apiKey?: number };
  if (typeof apiKey === 'number') bump(clientCounts, apiName(apiKey));
}

/**
 * A TCP proxy that decodes each request frame's api_key (int32 size, int16 api_key, …) on its way to
 * the broker. The broker advertises its own address, which clients connect to after the first
 * metadata, so while it runs every connection this process opens to the broker is sent to it
 * instead (net.connect/createConnection patched; kafkajs calls net.connect, platformatic imports
 * createConnection from node:net, hence syncBuiltinESMExports).
 */
async function withWireProxy<T>(broker: { host: string; port: number }, run: () => Promise<T>): Promise<T> {
  const originalConnect = net.connect;
  const originalCreateConnection = net.createConnection;
  const server = net.createServer((downstream) => {
    const upstream = originalConnect({ host: broker.host, port: broker.port });
    let pending: Buffer = Buffer.alloc(0);
    downstream.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 6) {
        const size = pending.readInt32BE(0);
        if (pending.length < 4 + size) break;
        bump(wireCounts, apiName(pending.readInt16BE(4)));
        pending = pending.subarray(4 + size);
      }
      upstream.write(chunk);
    });
    upstream.pipe(downstream);
    downstream.on('error', () => upstream.destroy());
    upstream.on('error', () => downstream.destroy());
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const redirected = ((...args: unknown[]) => {
    const [options] = args;
    if (options && typeof options === 'object') {
      const target = options as { host?: string; port?: number };
      if (target.host === broker.host && Number(target.port) === broker.port) args[0] = { ...target, host: '127.0.0.1', port };
    }
    return (originalConnect as (...a: unknown[]) => net.Socket)(...args);
  }) as typeof net.connect;
  net.connect = redirected;
  net.createConnection = redirected;
  syncBuiltinESMExports();
  try {
    return await run();
  } finally {
    net.connect = originalConnect;
    net.createConnection = originalCreateConnection;
    syncBuiltinESMExports();
    server.close();
  }
}

// ---- the clients ------------------------------------------------------------------------------

const config = loadConfig();
const [brokerHost, brokerPort] = config.kafkaBrokers[0]!.split(':') as [string, string];
const BROKER = { host: brokerHost, port: Number(brokerPort) };

function kafkaJs(): Kafka {
  return new Kafka({
    clientId: 'bench-kafka-clients',
    brokers: config.kafkaBrokers,
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 200 },
    logLevel: logLevel.NOTHING,
  });
}

/**
 * Caches the transaction coordinator of the producers `kafka` creates: kafkajs looks it up
 * (FindCoordinator) before every AddPartitionsToTxn and EndTxn. Reaches a private symbol of the
 * Kafka object; a failed lookup is not cached, a stale one is not noticed (kafkajs never tells).
 */
function cacheTransactionCoordinator(kafka: Kafka): void {
  const holder = kafka as unknown as Record<symbol, (options: unknown) => unknown>;
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!symbol) throw new Error('this kafkajs has no private:Kafka:createCluster');
  const createCluster = holder[symbol]!;
  holder[symbol] = (options: unknown) => {
    const cluster = createCluster(options) as {
      findGroupCoordinator(args: { groupId: string; coordinatorType?: number }): Promise<unknown>;
    };
    const find = cluster.findGroupCoordinator.bind(cluster);
    const cached = new Map<string, Promise<unknown>>();
    cluster.findGroupCoordinator = (args) => {
      if (args.coordinatorType !== 1) return find(args); // 1: transaction coordinator
      let broker = cached.get(args.groupId);
      if (!broker) {
        broker = find(args).catch((error: unknown) => {
          cached.delete(args.groupId);
          throw error;
        });
        cached.set(args.groupId, broker);
      }
      return broker;
    };
    return cluster;
  };
}

/** A kafkajs transactional producer configured as kafka-appender.ts configures it. */
async function kafkaJsProducer(kafka: Kafka, transactionalId: string): Promise<KafkaJsProducer> {
  const producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 15_000,
    retry: { initialRetryTime: 3, maxRetryTime: 500, retries: 12 },
  });
  producer.on(producer.events.REQUEST, ({ payload }) => bump(clientCounts, apiName(payload.apiKey)));
  await producer.connect();
  const first = await producer.transaction();
  await first.abort();
  return producer;
}

async function kafkaJsClient(name: ClientName, topic: string): Promise<TxClient> {
  const kafka = kafkaJs();
  if (name === 'kafkajs+cache') cacheTransactionCoordinator(kafka);
  const producer = await kafkaJsProducer(kafka, `bench-kafka-clients.${crypto.randomUUID()}`);
  return {
    name,
    async transact(records) {
      const transaction = await producer.transaction();
      try {
        const messages: Message[] = records.map(({ key, value, partition, headers }) => ({ key, value, partition, headers }));
        await transaction.send({ topic, acks: -1, messages });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    },
    close: () => producer.disconnect(),
  };
}

/** What we would give @platformatic/kafka: the same transactional settings, retries as short as ours. */
function platformaticProducer(transactionalId: string): PltProducer<string, Buffer, string, string> {
  return new PltProducer({
    clientId: 'bench-kafka-clients',
    bootstrapBrokers: config.kafkaBrokers,
    transactionalId,
    idempotent: true,
    acks: -1,
    timeout: 15_000,
    connectTimeout: 3000,
    retries: 12,
    // Its default is a fixed 1,000 ms, which a CONCURRENT_TRANSACTIONS after every commit would cost.
    retryDelay: (_client, _operation, attempt) => Math.min(3 * 2 ** (attempt - 1), 500),
    serializers: {
      key: stringSerializers.key,
      value: (value?: Buffer) => value,
      headerKey: stringSerializers.headerKey,
      headerValue: stringSerializers.headerValue,
    },
  });
}

async function platformaticClient(topic: string): Promise<TxClient> {
  const producer = platformaticProducer(`bench-kafka-clients.${crypto.randomUUID()}`);
  // The first transaction finds the coordinator and initialises the producer id (fencing).
  await (await producer.beginTransaction()).cancel();
  return {
    name: 'platformatic',
    async transact(records) {
      const transaction = await producer.beginTransaction();
      try {
        await transaction.send({
          messages: records.map((r) => ({ topic, key: r.key, value: r.value, partition: r.partition, headers: r.headers })),
        });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    },
    close: () => producer.close(),
  };
}

const openClient = (name: ClientName, topic: string) => (name === 'platformatic' ? platformaticClient(topic) : kafkaJsClient(name, topic));

// ---- the workload -----------------------------------------------------------------------------

const ROOMS = Array.from({ length: KEYS }, () => crypto.randomUUID());
// Confluent framing (magic byte, schema id) and then bytes standing for the Avro body.
const VALUES = Array.from({ length: 64 }, (_, i) => {
  const value = Buffer.alloc(VALUE_BYTES, i);
  value.writeUInt8(0, 0);
  value.writeUInt32BE(7 + i, 1);
  return value;
});
let sequence = 0;

function record(room: number, partition: number): Rec {
  const n = sequence++;
  return {
    key: ROOMS[room % ROOMS.length]!,
    value: VALUES[n % VALUES.length]!,
    partition,
    headers: {
      'event-type': 'MessageSent',
      'event-id': crypto.randomUUID(),
      traceparent: `00-${crypto.randomUUID().replaceAll('-', '')}-${n.toString(16).padStart(16, '0')}-01`,
    },
  };
}

/** R records of one transaction: R = 1 goes to the next partition in turn, more spread over all. */
function transactionRecords(r: number, t: number): Rec[] {
  return Array.from({ length: r }, (_, i) => record(t * r + i, r === 1 ? t % PARTITIONS : i % PARTITIONS));
}

interface Window {
  transactions: number;
  records: number;
  seconds: number;
  txMs: number[];
  /** Sequential cases: the transactions whose AddPartitionsToTxn was retried, and the others. */
  retriedMs: number[];
  unretriedMs: number[];
  commandMs: number[];
  requests: Map<string, number>;
  clientCpuMs: number;
  brokerCpuMs: number;
}

interface CaseResult extends Window {
  client: ClientName;
  case: string;
}

const brokerPid = findBrokerPid();

function findBrokerPid(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline[0]?.endsWith('java') && cmdline.includes('kafka.Kafka')) return Number(entry);
    } catch {
      // gone between the listing and the read
    }
  }
  throw new Error('no Kafka broker process (java … kafka.Kafka) found');
}

/** Runs `body` as a measured window: request counts, CPU here and in the broker, wall time. */
async function measured(body: (w: Window) => Promise<void>): Promise<Window> {
  const w: Window = {
    transactions: 0,
    records: 0,
    seconds: 0,
    txMs: [],
    retriedMs: [],
    unretriedMs: [],
    commandMs: [],
    requests: new Map(),
    clientCpuMs: 0,
    brokerCpuMs: 0,
  };
  clientCounts.clear();
  counting = true;
  const brokerStart = cpuMs(brokerPid);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  await body(w);
  w.seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  w.clientCpuMs = (cpu.user + cpu.system) / 1000;
  w.brokerCpuMs = cpuMs(brokerPid) - brokerStart;
  counting = false;
  w.requests = new Map(clientCounts);
  return w;
}

async function sequential(client: TxClient, r: number, gapMs: number, until: (w: Window) => boolean): Promise<Window> {
  for (let t = 0; t < WARMUP_TRANSACTIONS; t++) await client.transact(transactionRecords(r, t));
  return measured(async (w) => {
    const start = performance.now();
    while (!until({ ...w, seconds: (performance.now() - start) / 1000 })) {
      if (gapMs > 0) await sleep(gapMs);
      const records = transactionRecords(r, w.transactions);
      const adds = clientCounts.get('AddPartitionsToTxn') ?? 0;
      const began = performance.now();
      await client.transact(records);
      const ms = performance.now() - began;
      w.txMs.push(ms);
      // Each transaction sends one AddPartitionsToTxn; more is a retry (CONCURRENT_TRANSACTIONS).
      ((clientCounts.get('AddPartitionsToTxn') ?? 0) - adds > 1 ? w.retriedMs : w.unretriedMs).push(ms);
      w.transactions++;
      w.records += r;
    }
  });
}

/** Commands arrive at RATE/s; one transaction at a time carries whatever arrived meanwhile. */
async function openLoop(client: TxClient): Promise<Window> {
  for (let t = 0; t < WARMUP_TRANSACTIONS; t++) await client.transact(transactionRecords(1, t));
  return measured(async (w) => {
    const queue: { arrival: number; rec: Rec }[] = [];
    const start = performance.now();
    const end = start + SECONDS * 1000;
    let generated = 0;
    let pumping: Promise<void> | undefined;
    let failure: unknown;
    const pump = async () => {
      while (queue.length > 0) {
        const batch = queue.splice(0);
        const began = performance.now();
        await client.transact(batch.map(({ rec }) => rec));
        const done = performance.now();
        w.txMs.push(done - began);
        for (const { arrival } of batch) w.commandMs.push(done - arrival);
        w.transactions++;
        w.records += batch.length;
      }
    };
    const arrive = () => {
      const now = Math.min(performance.now(), end);
      const due = Math.floor(((now - start) * RATE) / 1000);
      for (; generated < due; generated++) {
        const key = generated % KEYS;
        queue.push({ arrival: start + (generated * 1000) / RATE, rec: record(key, key % PARTITIONS) });
      }
      if (!pumping && queue.length > 0) {
        pumping = pump()
          .catch((error: unknown) => void (failure = error))
          .finally(() => (pumping = undefined));
      }
    };
    const timer = setInterval(arrive, 1);
    await sleep(SECONDS * 1000);
    while (performance.now() < end) await sleep(1);
    clearInterval(timer);
    arrive();
    while (pumping) await pumping;
    if (failure) throw failure;
  });
}

// ---- correctness ------------------------------------------------------------------------------

/** Commit, abort, commit one record each on a one-partition topic; a read-committed consumer must see the first and the last only. */
async function readBack(name: ClientName, topic: string): Promise<string> {
  const marks = {
    committed: `committed-${crypto.randomUUID()}`,
    aborted: `aborted-${crypto.randomUUID()}`,
    after: `after-${crypto.randomUUID()}`,
  };
  const seen: string[] = [];
  if (name === 'platformatic') {
    const producer = platformaticProducer(`bench-kafka-clients.verify.${crypto.randomUUID()}`);
    for (const [value, commit] of [
      [marks.committed, true],
      [marks.aborted, false],
      [marks.after, true],
    ] as const) {
      const transaction = await producer.beginTransaction();
      await transaction.send({ messages: [{ topic, key: 'k', value: Buffer.from(value), partition: 0 }] });
      await (commit ? transaction.commit() : transaction.abort());
    }
    await producer.close();
    const consumer = new PltConsumer({
      clientId: 'bench-kafka-clients',
      bootstrapBrokers: config.kafkaBrokers,
      groupId: `bench-kafka-clients.${crypto.randomUUID()}`,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      deserializers: stringDeserializers,
      maxWaitTime: 200,
    });
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    const timeout = setTimeout(() => void stream.close(), 15_000);
    for await (const message of stream) {
      seen.push(String(message.value));
      if (message.value === marks.after) break;
    }
    clearTimeout(timeout);
    await stream.close();
    await consumer.close(true);
  } else {
    const kafka = kafkaJs();
    const producer = await kafkaJsProducer(kafka, `bench-kafka-clients.verify.${crypto.randomUUID()}`);
    for (const [value, commit] of [
      [marks.committed, true],
      [marks.aborted, false],
      [marks.after, true],
    ] as const) {
      const transaction = await producer.transaction();
      await transaction.send({ topic, acks: -1, messages: [{ key: 'k', value, partition: 0 }] });
      await (commit ? transaction.commit() : transaction.abort());
    }
    await producer.disconnect();
    const consumer = kafka.consumer({
      groupId: `bench-kafka-clients.${crypto.randomUUID()}`,
      readUncommitted: false,
      maxWaitTimeInMs: 200,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timeout = setTimeout(resolve, 15_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(String(message.value));
          if (String(message.value) === marks.after) {
            clearTimeout(timeout);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
  }
  // The topic holds the records of the clients checked before this one too.
  const ours = seen.filter((value) => Object.values(marks).includes(value));
  const ok = ours.length === 2 && ours[0] === marks.committed && ours[1] === marks.after;
  return ok
    ? 'read-committed read back: committed record seen, aborted one not (ok)'
    : `read-committed read back WRONG: saw ${JSON.stringify(ours.map((s) => s.split('-')[0]))}`;
}

/** A second producer initialising the same transactional id must make the first one's open transaction fail. */
async function fencing(name: ClientName, topic: string): Promise<string> {
  const transactionalId = `bench-kafka-clients.fence.${crypto.randomUUID()}`;
  const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error));
  if (name === 'platformatic') {
    const first = platformaticProducer(transactionalId);
    const transaction = await first.beginTransaction();
    await transaction.send({ messages: [{ topic, key: 'k', value: Buffer.from('fenced'), partition: 0 }] });
    const second = platformaticProducer(transactionalId);
    await (await second.beginTransaction()).cancel();
    const outcome = await transaction.commit().then(
      () => 'fencing WRONG: the fenced producer committed',
      (error: unknown) => `fencing ok: the fenced producer's commit failed (${describe(error)})`,
    );
    await first.close().catch(() => undefined);
    await second.close();
    return outcome;
  }
  const kafka = kafkaJs();
  const first = await kafkaJsProducer(kafka, transactionalId);
  const transaction = await first.transaction();
  await transaction.send({ topic, acks: -1, messages: [{ key: 'k', value: 'fenced', partition: 0 }] });
  const second = await kafkaJsProducer(kafka, transactionalId);
  const outcome = await transaction.commit().then(
    () => 'fencing WRONG: the fenced producer committed',
    (error: unknown) => `fencing ok: the fenced producer's commit failed (${describe(error)})`,
  );
  await first.disconnect().catch(() => undefined);
  await second.disconnect();
  return outcome;
}

// ---- the run ----------------------------------------------------------------------------------

const CASES = [
  { name: 'seq R=1', run: (c: TxClient) => sequential(c, 1, 0, (w) => w.seconds >= SECONDS) },
  { name: 'seq R=20', run: (c: TxClient) => sequential(c, 20, 0, (w) => w.seconds >= SECONDS) },
  { name: `seq R=1 +${GAP_MS}ms gap`, run: (c: TxClient) => sequential(c, 1, GAP_MS, (w) => w.seconds >= SECONDS / 2) },
  { name: `open ${RATE}/s`, run: (c: TxClient) => openLoop(c) },
];

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const perTx = (requests: Map<string, number>, transactions: number) =>
  [...requests]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([api, n]) => `${api} ${round(n / transactions)}`)
    .join(', ');

async function main(): Promise<void> {
  const admin = kafkaJs().admin();
  await admin.connect();
  const run = Date.now().toString(36);
  const topic = `bench-kafka-clients-${run}`;
  const verifyTopic = `bench-kafka-clients-verify-${run}`;
  await admin.createTopics({
    topics: [
      { topic, numPartitions: PARTITIONS, replicationFactor: 1 },
      { topic: verifyTopic, numPartitions: 1, replicationFactor: 1 },
    ],
    waitForLeaders: true,
  });
  const results: CaseResult[] = [];
  const wire: { client: ClientName; case: string; transactions: number; client_: Map<string, number>; wire: Map<string, number> }[] = [];
  const checks: string[] = [];
  try {
    const idleStart = cpuMs(brokerPid);
    await sleep(2000);
    console.log(
      `broker pid ${brokerPid}, idle CPU ${round((cpuMs(brokerPid) - idleStart) / 2, 1)} ms/s; node ${process.version}; ${SECONDS} s per case; topic ${topic} (${PARTITIONS} partitions)`,
    );
    for (const name of CLIENTS) {
      const client = await openClient(name, topic);
      try {
        for (const c of CASES) {
          const w = await c.run(client);
          results.push({ client: name, case: c.name, ...w });
          printResult(results.at(-1)!);
        }
      } finally {
        await client.close();
      }
      // The same requests on the wire: a fresh client whose connections all go through the counting proxy.
      await withWireProxy(BROKER, async () => {
        const proxied = await openClient(name, topic);
        try {
          for (const [label, r] of [
            ['seq R=1', 1],
            ['seq R=20', 20],
          ] as const) {
            wireCounts.clear();
            const w = await sequential(proxied, r, 0, (x) => x.transactions >= WIRE_TRANSACTIONS);
            wire.push({ client: name, case: label, transactions: w.transactions, client_: w.requests, wire: new Map(wireCounts) });
            console.log(
              `  wire check ${name} ${label}: client ${perTx(w.requests, w.transactions)} | wire ${perTx(wireCounts, w.transactions)}`,
            );
          }
        } finally {
          await proxied.close();
        }
      });
      checks.push(`${name}: ${await readBack(name, verifyTopic)}; ${await fencing(name, verifyTopic)}`);
      console.log(`  ${checks.at(-1)}`);
    }
  } finally {
    await admin
      .deleteTopics({ topics: [topic, verifyTopic] })
      .catch((error: unknown) => console.error('deleting the topics failed', error));
    await admin.disconnect();
    unsubscribe('tracing:plt:kafka:connections:api:start', onPlatformaticRequest);
  }
  console.log(
    '\nJSON',
    JSON.stringify({
      conditions: { SECONDS, RATE, KEYS, GAP_MS, PARTITIONS, VALUE_BYTES },
      results: results.map(jsonOf),
      wire: wire.map(wireJson),
      checks,
    }),
  );
}

function printResult(r: CaseResult): void {
  const tx = summarize(r.txMs);
  const line = [
    `${r.client.padEnd(13)} ${r.case.padEnd(18)}`,
    `${r.transactions} tx in ${round(r.seconds, 1)} s = ${round(r.transactions / r.seconds, 0)} tx/s, ${round(r.records / r.transactions, 1)} rec/tx`,
    `tx p50 ${tx.p50} p99 ${tx.p99} max ${tx.max} ms`,
  ];
  if (r.commandMs.length > 0) {
    const cmd = summarize(r.commandMs);
    line.push(`command p50 ${cmd.p50} p95 ${cmd.p95} p99 ${cmd.p99} max ${cmd.max} ms`);
  }
  line.push(
    `client CPU ${round(r.clientCpuMs / r.transactions, 3)} ms/tx ${round(r.clientCpuMs / r.records, 3)} ms/rec`,
    `broker CPU ${round(r.brokerCpuMs / r.transactions, 3)} ms/tx ${round(r.brokerCpuMs / r.records, 3)} ms/rec`,
  );
  if (r.retriedMs.length > 0) {
    const [retried, clean] = [summarize(r.retriedMs), summarize(r.unretriedMs)];
    line.push(
      `retried ${retried.n} tx p50 ${retried.p50} mean ${retried.mean} ms vs not ${clean.n} tx p50 ${clean.p50} mean ${clean.mean} ms`,
    );
  }
  console.log(line.join(' | '));
  console.log(`  requests/tx: ${perTx(r.requests, r.transactions)}`);
}

const jsonOf = (r: CaseResult) => ({
  client: r.client,
  case: r.case,
  transactions: r.transactions,
  records: r.records,
  seconds: round(r.seconds, 2),
  tx: summarize(r.txMs),
  command: r.commandMs.length > 0 ? summarize(r.commandMs) : undefined,
  retriedTx: r.retriedMs.length > 0 ? summarize(r.retriedMs) : undefined,
  unretriedTx: r.unretriedMs.length > 0 ? summarize(r.unretriedMs) : undefined,
  requestsPerTx: Object.fromEntries([...r.requests].map(([api, n]) => [api, round(n / r.transactions, 3)])),
  clientCpuMs: round(r.clientCpuMs, 1),
  brokerCpuMs: round(r.brokerCpuMs, 1),
});

const wireJson = (w: {
  client: ClientName;
  case: string;
  transactions: number;
  client_: Map<string, number>;
  wire: Map<string, number>;
}) => ({
  client: w.client,
  case: w.case,
  transactions: w.transactions,
  clientCounted: Object.fromEntries(w.client_),
  wireCounted: Object.fromEntries(w.wire),
});

await main();
process.exit(0);
