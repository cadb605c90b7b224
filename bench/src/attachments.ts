import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from 'graphql-ws';
import sharp from 'sharp';
import { infraUp, startStack, type Stack } from '@chat/infra';
import { createS3Client, deleteKeys, intFromEnv, sleep } from '@chat/platform';
import { signUp } from '@chat/test/accounts';
import { gql, wsClient } from '@chat/test/graphql';
import { waitFor } from './open-loop.ts';
import { cpuBetween, cpuFigures, machine, sampleCpu, type CpuFigures, type CpuSample } from './proc.ts';
import { stackEnvFromEnv } from './stack-env.ts';
import { summarize, Tally, type Summary } from './stats.ts';

// Attachments end to end under a fixed offered rate (open loop), on the real stack and the local
// object store (S3Proxy): one sender uploads pictures of about 100 KB, 1 MB and 10 MB into one
// room, one other member is subscribed to it over graphql-ws, as a client does:
//   requestUpload on the one endpoint → PUT the bytes to the presigned URL → sendMessage naming
//   the upload (answered once the command service has read, sniffed and scaled it — thumbnail,
//   preview, ThumbHash, metadata stripped —, appended the event and the read models have it) →
//   the subscriber sees the message → it GETs the thumbnail through the one endpoint.
// Each upload starts at its scheduled time whatever the ones before did; requestUpload, PUT and
// send are timed on their own, "seen" and "thumbnail" from the scheduled time (no coordinated
// omission; an upload that never got there counts as infinitely late). The pictures are random
// noise, so JPEG cannot shrink them: the bytes are about width × height × 0.83.
//
// CPU of every process on the box (proc.ts) over each size's window, per accepted upload, with
// the object store (the S3Proxy java processes) named apart; an idle window first gives what the
// box spends doing nothing, per role, to read small rates against. In the same run, the store's
// own PUT rate: 100 KB and 1 MB objects PUT straight with the AWS SDK, 8 at a time.
//
// Usage: ./chat bench:attachments
//   env: SIZES=100k,1m,10m, COUNT (uploads per size), RATE_PER_S (uploads per second, may be a
//   fraction), WARMUP (unmeasured uploads per size first, default 1), RAW_SECONDS (default 5),
//   IDLE_SECONDS (default 5), STACK_ENV

interface Size {
  label: string;
  width: number;
  height: number;
  count: number;
  ratePerSecond: number;
}

// Noise JPEG at quality 90 comes to about 0.83 bytes a pixel: 4:3 pictures of 0.12, 1.2 and 12 megapixels.
const SIZES: Size[] = [
  { label: '100k', width: 400, height: 300, count: 20, ratePerSecond: 2 },
  { label: '1m', width: 1280, height: 960, count: 20, ratePerSecond: 1 },
  { label: '10m', width: 4000, height: 3000, count: 8, ratePerSecond: 0.25 },
];

const WANTED = new Set((process.env.SIZES ?? '100k,1m,10m').split(',').filter(Boolean));
const WARMUP = intFromEnv(process.env, 'WARMUP', 1);
const RAW_SECONDS = intFromEnv(process.env, 'RAW_SECONDS', 5);
const IDLE_SECONDS = intFromEnv(process.env, 'IDLE_SECONDS', 5);
const RAW_CONCURRENCY = 8;
/** How long to wait, after the last upload started, for the stragglers (then they count as lost). */
const DRAIN_MS = 60_000;
/** Each request's own deadline. */
const REQUEST_TIMEOUT_MS = 60_000;

function rateFromEnv(fallback: number): number {
  const raw = process.env.RATE_PER_S;
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`RATE_PER_S must be a positive number, got "${raw}"`);
  return value;
}

const REQUEST = `mutation($name: String!, $size: Int!, $type: String!) { requestUpload(name: $name, size: $size, contentType: $type) {
  __typename ... on UploadTicket { uploadId url contentType } ... on CommandError { code message } } }`;
const SEND = `mutation($roomId: ID!, $key: ID!, $files: [ID!]) { sendMessage(roomId: $roomId, body: "", clientMessageId: $key, attachments: $files) {
  __typename ... on MessageAccepted { messageId } ... on CommandError { code message } } }`;
const LIVE = `subscription($roomId: ID!) { messageAdded(roomId: $roomId, after: "0") { id attachments { id thumbnailUrl width height } } }`;
const CREATE = `mutation { createRoom(name: "attachments bench") { __typename ... on RoomAccepted { roomId } ... on CommandError { code message } } }`;
const JOIN = `mutation($roomId: ID!) { joinRoom(roomId: $roomId) { __typename } }`;

interface Ticket {
  __typename: string;
  uploadId?: string;
  url?: string;
  contentType?: string;
  code?: string;
  message?: string;
}

/** A random-noise JPEG of `width` × `height`. */
async function noiseJpeg(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** The object store's processes: the java processes running S3Proxy (pgrep -f s3proxy, java only). */
function objectStorePids(): number[] {
  let listed: string;
  try {
    listed = execFileSync('pgrep', ['-f', 's3proxy'], { encoding: 'utf8' });
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
  return listed
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'java';
      } catch {
        return false;
      }
    });
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Resolves with `value` after `ms`, without keeping the process alive for it (a deadline in a race). */
const deadline = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(resolve, ms, value).unref());

/** What happened to the uploads of one size, live, as they go. */
class Run {
  readonly outcomes = new Tally();
  readonly requestMs: number[] = [];
  readonly putMs: number[] = [];
  readonly sendMs: number[] = [];
  /** From the scheduled start to the send's answer. */
  readonly answeredMs: number[] = [];
  readonly seenMs: number[] = [];
  readonly thumbnailMs: number[] = [];
  readonly thumbnailStatus = new Tally();
  accepted = 0;
}

/** The bench's world: the stack, the sender and the subscriber in their room. */
interface World {
  stack: Stack;
  origin: string;
  senderToken: string;
  subscriberToken: string;
  roomId: string;
  /** Resolves when the subscriber sees the message carrying upload `uploadId`, with its thumbnail URL. */
  seen(uploadId: string): Promise<{ at: number; thumbnailUrl: string | null }>;
}

function subscribeRoom(stack: Stack, token: string, roomId: string) {
  const arrivals = new Map<string, { at: number; thumbnailUrl: string | null }>();
  const waiting = new Map<string, (arrival: { at: number; thumbnailUrl: string | null }) => void>();
  let texts = 0;
  const client: Client = wsClient(stack.queryWsUrl, token);
  client.subscribe<{ messageAdded: { id: string; attachments: { id: string; thumbnailUrl: string | null }[] } }>(
    { query: LIVE, variables: { roomId } },
    {
      next: (value) => {
        const at = performance.now();
        if (value.errors) return console.error('subscription error', JSON.stringify(value.errors));
        const message = value.data?.messageAdded;
        if (!message) return;
        if (message.attachments.length === 0) texts++;
        for (const attachment of message.attachments) {
          const arrival = { at, thumbnailUrl: attachment.thumbnailUrl };
          arrivals.set(attachment.id, arrival);
          waiting.get(attachment.id)?.(arrival);
          waiting.delete(attachment.id);
        }
      },
      error: (error) => console.error('subscription failed', error),
      complete: () => undefined,
    },
  );
  return {
    textsSeen: () => texts,
    seen: (uploadId: string) =>
      new Promise<{ at: number; thumbnailUrl: string | null }>((resolve) => {
        const arrival = arrivals.get(uploadId);
        if (arrival) resolve(arrival);
        else waiting.set(uploadId, resolve);
      }),
    close: () => client.dispose() as Promise<void>,
  };
}

/**
 * One upload from its scheduled time to the thumbnail fetched; `run` gets its timings when measured.
 * Resolves when it is done (or failed at some step, tallied).
 */
async function uploadOne(world: World, bytes: Buffer, key: string, scheduled: number, run: Run | undefined): Promise<void> {
  const signal = () => AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const fail = (outcome: string) => run?.outcomes.add(outcome);
  try {
    let t = performance.now();
    const ticket = (
      await gql<{ requestUpload: Ticket }>(
        world.stack.queryUrl,
        REQUEST,
        { name: `${key}.jpg`, size: bytes.length, type: 'image/jpeg' },
        world.senderToken,
        {},
        signal(),
      )
    ).requestUpload;
    run?.requestMs.push(performance.now() - t);
    if (ticket.__typename !== 'UploadTicket' || !ticket.url || !ticket.uploadId)
      return fail(`requestUpload: ${ticket.code ?? ticket.__typename}`);

    t = performance.now();
    const put = await fetch(ticket.url, {
      method: 'PUT',
      body: new Uint8Array(bytes),
      headers: { 'content-type': ticket.contentType ?? '' },
      signal: signal(),
    });
    await put.arrayBuffer();
    run?.putMs.push(performance.now() - t);
    if (put.status !== 200) return fail(`PUT: HTTP ${put.status}`);

    const seen = world.seen(ticket.uploadId);
    t = performance.now();
    const sent = (
      await gql<{ sendMessage: { __typename: string; code?: string } }>(
        world.stack.queryUrl,
        SEND,
        { roomId: world.roomId, key, files: [ticket.uploadId] },
        world.senderToken,
        {},
        signal(),
      )
    ).sendMessage;
    const answered = performance.now();
    run?.sendMs.push(answered - t);
    run?.answeredMs.push(answered - scheduled);
    if (sent.__typename !== 'MessageAccepted') return fail(`sendMessage: ${sent.code ?? sent.__typename}`);
    if (run) run.accepted++;

    const arrival = await Promise.race([seen, deadline(REQUEST_TIMEOUT_MS, undefined)]);
    if (!arrival) return fail('not seen live');
    run?.seenMs.push(arrival.at - scheduled);
    if (!arrival.thumbnailUrl) return fail('no thumbnailUrl');

    // As a client would: GET it once seen, again a few times if it is not there yet.
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${world.origin}${arrival.thumbnailUrl}`, {
        headers: { authorization: `Bearer ${world.subscriberToken}` },
        signal: signal(),
      });
      const body = Buffer.from(await response.arrayBuffer());
      run?.thumbnailStatus.add(String(response.status));
      if (response.status === 200 && body.length > 0) {
        run?.thumbnailMs.push(performance.now() - scheduled);
        run?.outcomes.add('ok');
        return;
      }
      if (attempt >= 20) return fail(`thumbnail: HTTP ${response.status}`);
      await sleep(100);
    }
  } catch (error) {
    fail(`failed: ${error instanceof Error ? error.message.slice(0, 120) : String(error)}`);
  }
}

interface SizeResult {
  size: string;
  bytes: number;
  pixels: string;
  offered: { count: number; ratePerSecond: number };
  achievedOfferedRate: number;
  drained: boolean;
  outcomes: Record<string, number>;
  thumbnailGetStatuses: Record<string, number>;
  requestUploadMs: Summary;
  putMs: Summary;
  sendAnswerMs: Summary;
  answeredFromScheduledMs: Summary;
  seenLiveFromScheduledMs: Summary;
  thumbnailFromScheduledMs: Summary;
  accepted: number;
  windowSeconds: number;
  cpuPerUpload: CpuFigures;
  /** Server-side CPU per upload less what the same roles spend idle over the window (idleCores). */
  serverMsPerUploadNetOfIdle?: number;
}

async function measureSize(world: World, size: Size, sample: () => CpuSample): Promise<SizeResult> {
  const count = intFromEnv(process.env, 'COUNT', size.count);
  const rate = rateFromEnv(size.ratePerSecond);
  const bytes = await noiseJpeg(size.width, size.height);
  console.error(`${size.label}: ${bytes.length} bytes (${size.width}×${size.height}), ${count} uploads at ${rate}/s`);
  for (let w = 0; w < WARMUP; w++) await uploadOne(world, bytes, `warm-${size.label}-${w}`, performance.now(), undefined);

  const run = new Run();
  const inFlight: Promise<void>[] = [];
  const start = performance.now() + 100;
  let cpuStart: CpuSample | undefined;
  let lastStarted = start;
  for (let i = 0; i < count; i++) {
    const scheduled = start + (i * 1000) / rate;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    cpuStart ??= sample();
    lastStarted = performance.now();
    inFlight.push(uploadOne(world, bytes, `${size.label}-${i}`, scheduled, run));
  }
  // The rate the uploads actually started at (the first is due at `start`, the last at start + (count-1)/rate).
  const achievedOfferedRate = count > 1 ? Math.round(((count - 1) * 100_000) / (lastStarted - start)) / 100 : rate;
  const drained = await Promise.race([Promise.all(inFlight).then(() => true), deadline(DRAIN_MS, false)]);
  const window = cpuBetween(cpuStart!, sample());
  const missing = (done: number) => count - done;
  return {
    size: size.label,
    bytes: bytes.length,
    pixels: `${size.width}x${size.height}`,
    offered: { count, ratePerSecond: rate },
    achievedOfferedRate,
    drained,
    outcomes: run.outcomes.toJSON(),
    thumbnailGetStatuses: run.thumbnailStatus.toJSON(),
    requestUploadMs: summarize(run.requestMs, missing(run.requestMs.length)),
    putMs: summarize(run.putMs, missing(run.putMs.length)),
    sendAnswerMs: summarize(run.sendMs, missing(run.sendMs.length)),
    answeredFromScheduledMs: summarize(run.answeredMs, missing(run.answeredMs.length)),
    seenLiveFromScheduledMs: summarize(run.seenMs, missing(run.seenMs.length)),
    thumbnailFromScheduledMs: summarize(run.thumbnailMs, missing(run.thumbnailMs.length)),
    accepted: run.accepted,
    windowSeconds: round1(window.seconds),
    cpuPerUpload: cpuFigures(window, run.accepted),
  };
}

interface RawResult {
  objectBytes: number;
  concurrency: number;
  seconds: number;
  puts: number;
  failed: number;
  putsPerSecond: number;
  megabytesPerSecond: number;
  putMs: Summary;
  objectStoreCpuMsPerPut: number;
}

/** The store alone: objects of `bytes` PUT with the AWS SDK, RAW_CONCURRENCY at a time, for RAW_SECONDS; then deleted. */
async function rawPuts(stack: Stack, bytes: Buffer, label: string, sample: () => CpuSample): Promise<RawResult> {
  const store = stack.config.objectStore;
  const client = createS3Client(store);
  const prefix = `${stack.config.objectPrefix}bench-raw/${label}/`;
  const keys: string[] = [];
  const latencies: number[] = [];
  let failed = 0;
  try {
    // One PUT first: connections and signing warmed.
    await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: `${prefix}warm`, Body: bytes, ContentType: 'image/jpeg' }));
    keys.push(`${prefix}warm`);
    const cpuStart = sample();
    const started = performance.now();
    const deadline = started + RAW_SECONDS * 1000;
    let next = 0;
    await Promise.all(
      Array.from({ length: RAW_CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const key = `${prefix}${next++}`;
          const t = performance.now();
          try {
            await client.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: bytes, ContentType: 'image/jpeg' }));
            latencies.push(performance.now() - t);
            keys.push(key);
          } catch {
            failed++;
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const window = cpuBetween(cpuStart, sample());
    return {
      objectBytes: bytes.length,
      concurrency: RAW_CONCURRENCY,
      seconds: round1(seconds),
      puts: latencies.length,
      failed,
      putsPerSecond: round1(latencies.length / seconds),
      megabytesPerSecond: round1((latencies.length * bytes.length) / 1e6 / seconds),
      putMs: summarize(latencies),
      objectStoreCpuMsPerPut: round1((window.ms.objectstore ?? 0) / Math.max(1, latencies.length)),
    };
  } finally {
    await deleteKeys(store, keys, client).catch((error: unknown) => console.warn(`could not delete the raw PUTs: ${String(error)}`));
    client.destroy();
  }
}

const cell = (s: Summary) => [s.p50, s.p95, s.p99, s.max].map((x) => (Number.isFinite(x) ? String(x) : 'lost')).join(' / ');

function printTables(results: SizeResult[], raw: RawResult[], idleCores: Record<string, number>): void {
  const lines: string[] = [];
  lines.push('Attachments, ms as p50 / p95 / p99 / max (seen and thumbnail from the scheduled start)');
  lines.push(['size', 'bytes', 'n@rate', 'ok', 'requestUpload', 'PUT', 'send answer', 'seen live', 'thumbnail 200'].join(' | '));
  for (const r of results) {
    lines.push(
      [
        r.size,
        r.bytes,
        `${r.offered.count}@${r.offered.ratePerSecond}/s`,
        r.outcomes.ok ?? 0,
        cell(r.requestUploadMs),
        cell(r.putMs),
        cell(r.sendAnswerMs),
        cell(r.seenLiveFromScheduledMs),
        cell(r.thumbnailFromScheduledMs),
      ].join(' | '),
    );
  }
  const roles = [...new Set(results.flatMap((r) => Object.keys(r.cpuPerUpload.msPer)))].sort();
  lines.push('', 'CPU ms per upload, by process (whole window, idle included)');
  lines.push(['size', ...roles, 'server side', 'box', 'server net of idle'].join(' | '));
  for (const r of results) {
    lines.push(
      [
        r.size,
        ...roles.map((role) => r.cpuPerUpload.msPer[role] ?? 0),
        r.cpuPerUpload.serverMsPer,
        r.cpuPerUpload.boxMsPer,
        r.serverMsPerUploadNetOfIdle,
      ].join(' | '),
    );
  }
  lines.push(`idle, cores: ${roles.map((role) => `${role} ${idleCores[role] ?? 0}`).join(', ')}`);
  lines.push('', 'The store alone (AWS SDK PutObject, 8 at a time)');
  for (const r of raw) {
    lines.push(
      `${r.objectBytes} B: ${r.putsPerSecond} PUT/s, ${r.megabytesPerSecond} MB/s, PUT ms ${cell(r.putMs)}, S3Proxy CPU ${r.objectStoreCpuMsPerPut} ms/PUT`,
    );
  }
  console.log(lines.join('\n'));
}

await infraUp();
const stack = await startStack('bench-attachments', {
  ...stackEnvFromEnv(),
  ATTACHMENT_MAX_BYTES: String(32 * 1024 * 1024),
  UPLOADS_PER_USER_PER_DAY: '100000',
  UPLOAD_BYTES_PER_USER_PER_DAY: String(1e12),
});
let subscription: ReturnType<typeof subscribeRoom> | undefined;
try {
  const storePids = objectStorePids();
  if (storePids.length === 0) console.warn('no S3Proxy process found (pgrep -f s3proxy): the store’s CPU is not counted apart');
  const services = Object.fromEntries((['command-service', 'projector', 'query-service'] as const).map((s) => [s, stack.instance(s).pid]));
  // The store's processes under one role (more than one add up; unnamed, a java process would count as the registry).
  const sample = (): CpuSample => {
    const taken = sampleCpu(services);
    for (const pid of storePids) {
      const entry = taken.pids.get(pid);
      if (entry) entry.role = 'objectstore';
    }
    return taken;
  };

  const sender = await signUp(stack.queryUrl, 'attacher');
  const subscriber = await signUp(stack.queryUrl, 'watcher');
  const created = (await gql(stack.queryUrl, CREATE, {}, sender.accessToken)).createRoom;
  if (!created.roomId) throw new Error(`createRoom: ${JSON.stringify(created)}`);
  const roomId = created.roomId as string;
  await gql(stack.queryUrl, JOIN, { roomId }, subscriber.accessToken);
  subscription = subscribeRoom(stack, subscriber.accessToken, roomId);
  // The subscription is live once a first (text) message reaches it.
  await gql(
    stack.queryUrl,
    `mutation($roomId: ID!) { sendMessage(roomId: $roomId, body: "hello", clientMessageId: "hello") { __typename } }`,
    { roomId },
    sender.accessToken,
  );
  const live = subscription;
  if (!(await waitFor(() => live.textsSeen() > 0, 30_000))) throw new Error('the subscription saw nothing within 30 s');
  const world: World = {
    stack,
    origin: new URL(stack.queryUrl).origin,
    senderToken: sender.accessToken,
    subscriberToken: subscriber.accessToken,
    roomId,
    seen: (uploadId) => live.seen(uploadId),
  };

  // The box at rest: what each role spends doing nothing, in cores.
  const idleStart = sample();
  await sleep(IDLE_SECONDS * 1000);
  const idleCores = cpuFigures(cpuBetween(idleStart, sample()), 1).cores;

  const raw: RawResult[] = [];
  for (const size of SIZES.filter((s) => s.label !== '10m')) {
    const bytes = await noiseJpeg(size.width, size.height);
    raw.push(await rawPuts(stack, bytes, size.label, sample));
  }

  const results: SizeResult[] = [];
  for (const size of SIZES.filter((s) => WANTED.has(s.label))) results.push(await measureSize(world, size, sample));

  const idleServerCores = Object.entries(idleCores)
    .filter(([role]) => role !== 'load generator' && role !== 'others')
    .reduce((sum, [, cores]) => sum + cores, 0);
  for (const r of results) {
    r.serverMsPerUploadNetOfIdle = round1(
      r.cpuPerUpload.serverMsPer - (idleServerCores * 1000 * r.windowSeconds) / Math.max(1, r.accepted),
    );
  }
  printTables(results, raw, idleCores);
  console.log(
    JSON.stringify({
      method:
        'open loop, fixed offered rate per size, one sender, one room, one graphql-ws subscriber; seen and thumbnail from each upload’s scheduled start; CPU of every process from /proc over each size’s window per accepted upload',
      machine: { ...machine(), node: process.version },
      results,
      idleCores,
      rawObjectStore: raw,
      logs: Object.fromEntries((['command-service', 'projector', 'query-service'] as const).map((s) => [s, stack.instance(s).log])),
    }),
  );
} finally {
  await subscription?.close().catch(() => undefined);
  await stack.stop();
}
