import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { contentKeysFrom, createKafka, topicName, type PlatformConfig, type TopicKey } from '@chat/platform';
import { EventCodec, isRoomEvent, type DomainEvent, type RoomDomainEvent } from '@chat/schemas';

// The room-events topic as any read-committed reader sees it: every committed record from the
// beginning up to the end offsets taken when the read starts, decoded with the project's
// codec, message content opened with the stack's content keys as the projector opens it (erased
// content as erased). Tests assert on the log itself (revisions, idempotency keys, fencing) with it.

export interface LoggedEvent {
  partition: number;
  offset: bigint;
  key: string | undefined;
  event: RoomDomainEvent;
}

/** The end offset (high watermark) of every partition of `topic`. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads the whole room-events topic of a stack with a read-committed consumer (kafkajs's
 * default), up to the end offsets of the moment the read starts, in partition and offset
 * order. Aborted records and transaction markers are skipped but count as progress, so the
 * read ends even when a partition's last record is a commit or abort marker. A transaction
 * still open at the end keeps a partition from being read to its end: that fails after
 * `timeoutMs`, naming the partitions.
 */
export async function readRoomLog(config: PlatformConfig, { timeoutMs = 60_000 } = {}): Promise<LoggedEvent[]> {
  const logged = await readLog(config, 'roomEvents', { timeoutMs });
  for (const { partition, offset, event } of logged) {
    if (!isRoomEvent(event)) throw new Error(`record ${partition}@${offset} is a ${event.type}, not a room event`);
  }
  return logged as LoggedEvent[];
}

/** Any topic of the stack, read as readRoomLog reads the room topic: the user topic's events, say. */
export async function readLog(
  config: PlatformConfig,
  topicKey: TopicKey,
  { timeoutMs = 60_000 } = {},
): Promise<(Omit<LoggedEvent, 'event'> & { event: DomainEvent })[]> {
  const topic = topicName(config.topicPrefix, topicKey);
  const kafka = createKafka(config, 'test-room-log');
  const ends = await endOffsets(kafka, topic);
  const position = new Map<number, bigint>([...ends.keys()].map((p) => [p, 0n]));
  const remaining = () => [...ends].filter(([p, end]) => (position.get(p) ?? 0n) < end);
  if (remaining().length === 0) return [];

  const codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
  const raw: { partition: number; offset: bigint; key: string | undefined; value: Buffer | null }[] = [];
  const consumer = kafka.consumer({ groupId: `test-room-log-${crypto.randomUUID()}`, maxWaitTimeInMs: 200 });
  const done = Promise.withResolvers<void>();
  const advance = (partition: number, lastOffset: string | null) => {
    if (lastOffset === null) return;
    const next = BigInt(lastOffset) + 1n;
    if (next > (position.get(partition) ?? 0n)) position.set(partition, next);
    if (remaining().length === 0) done.resolve();
  };
  // Fired for every batch the consumer moved past, including batches of only markers or
  // aborted records, which never reach eachBatch.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic) advance(payload.partition, payload.lastOffset);
  });
  await consumer.connect();
  const timer = setTimeout(() => {
    const behind = remaining().map(([p, end]) => `${p}: at ${position.get(p)} of ${end}`);
    done.reject(new Error(`log of ${topic} not read to its end in ${timeoutMs} ms (open transaction?); ${behind.join(', ')}`));
  }, timeoutMs);
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset >= (ends.get(batch.partition) ?? 0n)) continue; // appended after the read began
          raw.push({ partition: batch.partition, offset, key: message.key?.toString(), value: message.value });
        }
      },
    });
    await done.promise;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }

  raw.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  const decoded: DomainEvent[] = [];
  for (const record of raw) {
    if (!record.value) throw new Error(`record ${topic}/${record.partition}@${record.offset} has no value`);
    const event = await codec.decode(record.value).catch((error: unknown) => {
      throw new Error(`record ${topic}/${record.partition}@${record.offset} does not decode: ${String(error)}`);
    });
    decoded.push(event);
  }
  const opened = await openedContent(config, codec, decoded);
  return raw.map((record, i) => ({
    partition: record.partition,
    offset: record.offset,
    key: record.key,
    event: opened[i]!,
  }));
}

/** The events with their sealed content opened, with the keys in the stack's Postgres and this machine's master keys. */
async function openedContent(config: PlatformConfig, codec: EventCodec, events: DomainEvent[]): Promise<DomainEvent[]> {
  if (!events.some((e) => 'sealed' in e && e.sealed)) return events;
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  try {
    return await codec.openWith(contentKeysFrom(pool, config)).openSealed(events);
  } finally {
    await pool.end();
  }
}

/** Events grouped by room id, each room's in log order. */
export function byRoom(events: LoggedEvent[]): Map<string, LoggedEvent[]> {
  const rooms = new Map<string, LoggedEvent[]>();
  for (const entry of events) {
    const list = rooms.get(entry.event.roomId) ?? [];
    list.push(entry);
    rooms.set(entry.event.roomId, list);
  }
  return rooms;
}

/** How many times each value occurs, for "exactly once" assertions that name the offenders. */
export function repeated<T>(values: T[]): T[] {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([value]) => value);
}

/** The idempotency key of an event and who used it: unique per room over the whole log. */
export const scopedKey = (e: RoomDomainEvent) => `${e.roomId} ${e.actorId} ${e.commandId}`;

/**
 * What makes a room log unclean, one line each: per room (every room in the log, and each of
 * `roomIds`, which must have events), revisions other than exactly 1..n in log order, events in
 * more than one partition or keyed other than by the room, a first event other than
 * RoomCreated; over the whole log, a (room, actor, key) used twice, an event id twice (the
 * same record appended twice).
 */
export function roomLogFindings(log: LoggedEvent[], roomIds: readonly string[] = []): string[] {
  const rooms = byRoom(log);
  const found: string[] = [];
  for (const roomId of roomIds) if (!rooms.has(roomId)) found.push(`room ${roomId}: no events`);
  for (const [roomId, events] of rooms) {
    const revisions = events.map((e) => e.event.revision);
    const wrong = revisions.findIndex((revision, i) => revision !== i + 1);
    if (wrong >= 0)
      found.push(
        `room ${roomId}: revision ${revisions[wrong]} at position ${wrong + 1} (${events[wrong]!.partition}@${events[wrong]!.offset})`,
      );
    if (new Set(events.map((e) => e.partition)).size !== 1) found.push(`room ${roomId}: events in several partitions`);
    if (!events.every((e) => e.key === roomId)) found.push(`room ${roomId}: events keyed otherwise`);
    if (events[0]!.event.type !== 'RoomCreated') found.push(`room ${roomId}: begins with ${events[0]!.event.type}`);
  }
  const keyed = log.filter((e) => e.event.commandId);
  for (const key of repeated(keyed.map((e) => scopedKey(e.event)))) found.push(`idempotency key used twice: ${key}`);
  for (const id of repeated(log.map((e) => e.event.eventId))) found.push(`event ${id} appended more than once`);
  return found;
}
