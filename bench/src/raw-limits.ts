import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { createKafka, loadConfig, type PlatformConfig } from '@chat/platform';
import { ROOT } from '@chat/infra';
import { cpuMs } from './proc.ts';

// The raw limits of the infrastructure on this machine, measured in the same run as a
// benchmark so its figures can be read against them:
//   Kafka:    Kafka's own ProducerPerformance tool, acks=all, 300,000 records of 200 bytes;
//   Postgres: multi-row INSERT … SELECT unnest(…) of 1,000 rows per statement, into a temp table;
//   Redis:    redis-benchmark's PUBLISH, 50 clients, unpipelined;
//   a hop:    the CPU of one loopback round trip between two Node processes (300 bytes each
//             way), back to back and after 5 ms idle. Every message crosses dozens of such hops
//             (HTTP, Kafka, Postgres, Redis, NOTIFY, the subscriber's socket), and on a virtual
//             machine waking an idle process costs several times what the write itself does:
//             that ratio is what a lone message pays at each hop, and it varies from day to day.
// Usage alone: ./chat bench:raw

const TOOLS_POM = join(ROOT, 'bench', 'kafka-tools', 'pom.xml');
const TOOLS_LIBS = join(ROOT, '.cache', 'kafka-tools', 'libs');

export interface RawLimits {
  kafkaRecordsPerSecond: number;
  postgresRowsPerSecond: number;
  redisPublishesPerSecond: number;
  /** CPU of both processes per loopback round trip, in µs. */
  hopCpuMicroseconds: { backToBack: number; afterIdle: number };
}

export async function measureRawLimits(config: PlatformConfig = loadConfig()): Promise<RawLimits> {
  return {
    kafkaRecordsPerSecond: await kafkaLimit(config),
    postgresRowsPerSecond: await postgresLimit(config),
    redisPublishesPerSecond: await redisLimit(config),
    hopCpuMicroseconds: await hopCost(),
  };
}

async function kafkaLimit(config: PlatformConfig): Promise<number> {
  if (!existsSync(join(TOOLS_LIBS, '.complete'))) {
    const mvn = spawnSync('mvn', ['-q', '-B', '-f', TOOLS_POM, 'dependency:copy-dependencies', `-DoutputDirectory=${TOOLS_LIBS}`], {
      encoding: 'utf8',
    });
    if (mvn.status !== 0) throw new Error(`resolving Kafka's tools failed: ${mvn.stdout}${mvn.stderr}`);
    writeFileSync(join(TOOLS_LIBS, '.complete'), new Date().toISOString());
  }
  const topic = `bench-raw-${Date.now().toString(36)}`;
  const admin = createKafka(config, 'bench-raw').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 12, replicationFactor: 1 }], waitForLeaders: true });
  try {
    const tool = spawnSync(
      'java',
      [
        '-cp',
        join(TOOLS_LIBS, '*'),
        'org.apache.kafka.tools.ProducerPerformance',
        '--topic',
        topic,
        '--num-records',
        '300000',
        '--record-size',
        '200',
        '--throughput',
        '-1',
        '--producer-props',
        `bootstrap.servers=${config.kafkaBrokers.join(',')}`,
        'acks=all',
      ],
      { encoding: 'utf8' },
    );
    // "300000 records sent, 190234.6 records/sec (36.28 MB/sec), …"
    const rate = /records sent, ([\d.]+) records\/sec/.exec(tool.stdout)?.[1];
    if (!rate) throw new Error(`ProducerPerformance printed no rate: ${tool.stdout}${tool.stderr}`);
    return Math.round(Number(rate));
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

async function postgresLimit(config: PlatformConfig): Promise<number> {
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    await client.query('CREATE TEMP TABLE raw_rows (id bigint, room uuid, body text, at timestamptz)');
    const ids = Array.from({ length: 1000 }, (_, i) => i);
    const rooms = ids.map(() => crypto.randomUUID());
    const bodies = ids.map((i) => `message body ${i} `.padEnd(120, 'x'));
    const started = performance.now();
    const statements = 200;
    for (let s = 0; s < statements; s++) {
      await client.query('INSERT INTO raw_rows SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[]), now()', [ids, rooms, bodies]);
    }
    return Math.round((statements * ids.length) / ((performance.now() - started) / 1000));
  } finally {
    await client.end();
  }
}

async function redisLimit(config: PlatformConfig): Promise<number> {
  // Redis's own tool, 50 clients, no pipelining; each client waits for its answer.
  const url = new URL(config.redisUrl);
  const tool = spawnSync(
    'redis-benchmark',
    ['-h', url.hostname, '-p', url.port || '6379', '-q', '-n', '100000', '-c', '50', 'publish', 'bench-raw', 'x'.repeat(200)],
    { encoding: 'utf8' },
  );
  const rates = [...tool.stdout.matchAll(/([\d.]+) requests per second/g)];
  if (rates.length === 0) throw new Error(`redis-benchmark printed no rate: ${tool.stdout}${tool.stderr}`);
  return Math.round(Number(rates.at(-1)![1]));
}

const ECHO_SERVER = `
const server = require('node:net').createServer((socket) => { socket.setNoDelay(true); socket.on('data', (d) => socket.write(d)); });
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;

async function hopCost(): Promise<{ backToBack: number; afterIdle: number }> {
  const echo = spawn(process.execPath, ['-e', ECHO_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      echo.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      echo.once('exit', (code) => reject(new Error(`the echo server exited (${code})`)));
    });
    const socket = net.connect(port, '127.0.0.1').setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    const payload = 'x'.repeat(300);
    const roundTrip = () => new Promise((resolve) => socket.once('data', resolve).write(payload));
    const measure = async (count: number, idleMs: number) => {
      const own = process.cpuUsage();
      const echoed = cpuMs(echo.pid!);
      for (let i = 0; i < count; i++) {
        await roundTrip();
        if (idleMs > 0) await new Promise((resolve) => setTimeout(resolve, idleMs));
      }
      const { user, system } = process.cpuUsage(own);
      return Math.round((user + system + (cpuMs(echo.pid!) - echoed) * 1000) / count);
    };
    await measure(2_000, 0); // warm-up
    const result = { backToBack: await measure(20_000, 0), afterIdle: await measure(1_000, 5) };
    socket.destroy();
    return result;
  } finally {
    echo.kill();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await measureRawLimits(), null, 2));
