import type pg from 'pg';
import { flightTransaction, type QueryFlight } from '@chat/platform';
import {
  PROJECTION_CHANNEL,
  isRoomEvent,
  mentionedNames,
  type DomainEvent,
  type LiveNotification,
  type ProjectionProgress,
} from '@chat/schemas';
import type { DeadLetter, DeadLetterSink } from './dead-letter-topic.ts';
import {
  planBatch,
  overriddenBy,
  revisionKey,
  storedRoomEvent,
  type BatchPlan,
  type Invitation,
  type MessageKey,
  type Membership,
  type PlannedRecord,
  type RoomUpdate,
} from '../domain/plan.ts';

// Writes batches of records, of one partition or of many (gathered across partitions over a
// short wait, see BatchGatherer), to Postgres in one transaction: the rows, every partition's
// checkpoint, and one NOTIFY that wakes command services waiting to read their writes. The
// statements fly together (QueryFlight): only reads wait for answers, so a batch of messages
// costs three round trips (checkpoints, the rooms' state, then every write and the commit). Offsets
// below a partition's checkpoint were applied before and are skipped, which makes redelivery
// after a crash or rebalance change nothing.
//
// One record must not stall its partition: when Postgres refuses the transaction because of its
// data (isDataError), it is applied again record by record, each in a savepoint, and the
// records Postgres refuses go to dead_letters with the reason (and to the dead-letter topic,
// before the commit). Any other failure (an outage) is thrown, for the caller to wait out.
//
// A revision conflict (two different events at one room revision, see planBatch) is neither:
// the batch is applied again without its partition's records from the conflict on, the fault
// is recorded, and the partition is reported halted, for the caller to stop until an operator acts.

interface Raw {
  key: string | null;
  value: Buffer | null;
}

export type DecodedRecord = ({ offset: string; event: DomainEvent } & Partial<Raw>) | { offset: string; poison: { error: string } & Raw };

/** Records of one partition, in log order. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  records: readonly DecodedRecord[];
}

export interface BatchResult {
  applied: number;
  skipped: number;
  deadLettered: number;
  faults: number;
  /** Partitions that met a revision conflict: applied up to it, and to be stopped there. */
  halted: Halt[];
  notifications: LiveNotification[];
}

/** Where a partition must stop, and why. */
export interface Halt {
  topic: string;
  partition: number;
  offset: string;
  roomId: string;
  detail: string;
}

/** Thrown by an applier that met a revision conflict: nothing of its transaction may commit. */
export class RevisionConflict extends Error {
  override name = 'RevisionConflict';
  readonly halt: Halt;

  constructor(halt: Halt) {
    super(`revision conflict in ${halt.topic}:${halt.partition} at offset ${halt.offset}: ${halt.detail}`);
    this.halt = halt;
  }
}

/** A decoded event with the partition it came from (a transaction may hold many partitions' records). */
export type EventRecord = Extract<DecodedRecord, { event: DomainEvent }> & { partition: number };
type SetAside = { partition: number; offset: string; error: string } & Raw;

/**
 * Whether Postgres refused the statement because of the data it was given, so that trying
 * again can never succeed: data exceptions (class 22: a NUL in text, a malformed uuid, a value
 * out of range), integrity violations (class 23: a member of a room that does not exist) and
 * program limits (class 54: a row too large). Everything else, connection failures above all,
 * is an outage.
 */
export function isDataError(error: unknown): boolean {
  if (error instanceof NotApplicableError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}

/** An event that can never apply where it was found (say, a user event in the room topic). */
export class NotApplicableError extends Error {
  override name = 'NotApplicableError';
}

/** What applying some events of one topic did: faults it recorded, and what to announce after the commit. */
export interface Applied {
  faults: number;
  notifications: LiveNotification[];
}

export interface ApplyOptions {
  /**
   * The command side's schema (quoted): deleted messages erase their content shares in it, and
   * the names their uploads were given.
   */
  commandSchema?: string;
  /**
   * Re-driving a dead letter: its room has moved past its revision since (the log went on
   * without it), so that is expected, not a replay to skip.
   */
  redrive?: boolean;
}

/** Writes the effect of events of one topic (from any of its partitions, each in log order), inside the caller's transaction. */
export type Applier = (flight: QueryFlight, topic: string, records: readonly EventRecord[], options?: ApplyOptions) => Promise<Applied>;

export interface BatchOptions {
  /** Where records set aside go besides the dead_letters table. */
  deadLetters?: DeadLetterSink;
  /** Announce the new checkpoints to command services waiting to read their writes (not for a rebuild's schema). */
  notify?: boolean;
  /**
   * Wait for the commit to reach the disk (the default). A rebuild need not: a crash loses
   * its last batches and their checkpoints together, and nothing reads its schema before the switch.
   */
  durable?: boolean;
}

/** What writes each topic's events. */
export type ApplierFor = (topic: string) => Applier;

/** One partition's records in one transaction (tests, and callers with a single partition). */
export function projectBatch(
  client: pg.PoolClient,
  topic: string,
  partition: number,
  records: readonly DecodedRecord[],
  applier: Applier = applyRoomEvents,
  options: BatchOptions = {},
): Promise<BatchResult> {
  return projectBatches(client, [{ topic, partition, records }], () => applier, options);
}

/** Several partitions' records (at most one batch per partition) in one transaction. */
export async function projectBatches(
  client: pg.PoolClient,
  batches: readonly PartitionBatch[],
  applierFor: ApplierFor,
  options: BatchOptions = {},
): Promise<BatchResult> {
  // In one order everywhere, so two transactions locking the same checkpoints (a rebalance) queue instead of deadlocking.
  let sorted = batches
    .filter((b) => b.records.length > 0)
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  const halted: Halt[] = [];
  for (;;) {
    try {
      return await applyEitherWay(client, sorted, applierFor, { ...options, halted });
    } catch (error) {
      if (!(error instanceof RevisionConflict)) throw error;
      const { halt } = error;
      halted.push(halt);
      sorted = sorted
        .map((b) =>
          b.topic === halt.topic && b.partition === halt.partition
            ? { ...b, records: b.records.filter((r) => BigInt(r.offset) < BigInt(halt.offset)) }
            : b,
        )
        .filter((b) => b.records.length > 0);
    }
  }
}

async function applyEitherWay(
  client: pg.PoolClient,
  batches: readonly PartitionBatch[],
  applierFor: ApplierFor,
  options: BatchOptions & { halted: Halt[] },
): Promise<BatchResult> {
  try {
    return await applyInTransaction(client, batches, applierFor, 'whole batch', options);
  } catch (error) {
    if (!isDataError(error)) throw error;
    return applyInTransaction(client, batches, applierFor, 'record by record', options);
  }
}

async function applyInTransaction(
  client: pg.PoolClient,
  batches: readonly PartitionBatch[],
  applierFor: ApplierFor,
  mode: 'whole batch' | 'record by record',
  { deadLetters: deadLetterSink, notify = true, durable = true, halted }: BatchOptions & { halted: Halt[] },
): Promise<BatchResult> {
  const result: BatchResult = { applied: 0, skipped: 0, deadLettered: 0, faults: 0, halted, notifications: [] };
  if (batches.length === 0 && halted.length === 0) return result;
  return flightTransaction(client, async (flight) => {
    if (!durable) flight.send('SET LOCAL synchronous_commit = off');
    if (halted.length > 0) recordConflicts(flight, halted);
    if (batches.length === 0) return result;
    const next = await lockCheckpoints(flight, batches);
    const eventsByTopic = new Map<string, EventRecord[]>();
    const deadLetters = new Map<string, SetAside[]>();
    for (const { topic, partition, records } of batches) {
      const from = next.get(checkpointKey(topic, partition)) ?? 0n;
      const events = eventsByTopic.get(topic) ?? [];
      eventsByTopic.set(topic, events);
      for (const r of records) {
        if (BigInt(r.offset) < from) result.skipped++;
        else if ('event' in r) events.push({ ...r, partition });
        else setAside(deadLetters, topic, { partition, offset: r.offset, ...r.poison });
      }
    }

    for (const [topic, events] of eventsByTopic) {
      const apply = applierFor(topic);
      const applied: Applied[] = [];
      let refused = 0;
      if (mode === 'whole batch') applied.push(await apply(flight, topic, events));
      else {
        for (const record of events) {
          flight.send('SAVEPOINT record');
          try {
            const plan = await apply(flight, topic, [record]);
            await flight.landed(); // this record's own refusal, not the next one's
            applied.push(plan);
            flight.send('RELEASE SAVEPOINT record');
          } catch (error) {
            if (!isDataError(error)) throw error;
            flight.send('ROLLBACK TO SAVEPOINT record');
            refused++;
            setAside(deadLetters, topic, {
              partition: record.partition,
              offset: record.offset,
              error: `not applicable: ${(error as Error).message}`,
              key: record.key ?? null,
              value: record.value ?? null,
            });
          }
        }
      }
      result.applied += events.length - refused;
      for (const plan of applied) {
        result.faults += plan.faults;
        for (const n of plan.notifications) result.notifications.push(n); // a spread of a backlog's worth overflows the stack
      }
    }

    const letters = [...deadLetters].flatMap(([topic, set]) =>
      // In log order, whatever refused them.
      set
        .sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1))
        .map((l): DeadLetter => ({ topic, ...l })),
    );
    result.deadLettered = letters.length;
    if (letters.length > 0) {
      if (deadLetterSink) {
        await flight.landed(); // a batch Postgres refuses is tried again record by record: its letters go out once, from there
        await deadLetterSink(letters);
      }
      flight.send(
        `INSERT INTO dead_letters (topic, partition, "offset", error, key, value)
         SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::bytea[]) ON CONFLICT DO NOTHING`,
        [
          col(letters, 'topic'),
          col(letters, 'partition'),
          col(letters, 'offset'),
          col(letters, 'error'),
          col(letters, 'key'),
          col(letters, 'value'),
        ],
      );
    }
    const progress = batches.map(({ topic, partition, records }): ProjectionProgress => ({
      topic,
      partition,
      nextOffset: String(BigInt(records.at(-1)!.offset) + 1n),
    }));
    const checkpoint = `INSERT INTO projection_checkpoints (topic, partition, next_offset)
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
       ON CONFLICT (topic, partition) DO UPDATE SET next_offset = GREATEST(projection_checkpoints.next_offset, excluded.next_offset), updated_at = now()`;
    const columns = [col(progress, 'topic'), col(progress, 'partition'), col(progress, 'nextOffset')];
    // The NOTIFY rides in the checkpoint's statement: every round trip to Postgres costs a
    // write and a wake-up on each side, the dearest part of a small batch on this machine.
    if (notify)
      flight.send(`WITH checkpoint AS (${checkpoint}) SELECT pg_notify($4, $5)`, [
        ...columns,
        PROJECTION_CHANNEL,
        JSON.stringify(progress),
      ]);
    else flight.send(checkpoint, columns);
    return result;
  });
}

/** Kept with the other faults, where an operator looks (the partition stays stopped whoever projects it next). */
function recordConflicts(flight: QueryFlight, halted: readonly Halt[]): void {
  flight.send(
    `INSERT INTO projection_faults (topic, partition, "offset", room_id, kind, detail)
     SELECT v.topic, v.partition, v."offset", v.room_id, 'revision-conflict', v.detail FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[])
       AS v(topic, partition, "offset", room_id, detail)
     ON CONFLICT DO NOTHING`,
    [col(halted, 'topic'), col(halted, 'partition'), col(halted, 'offset'), col(halted, 'roomId'), col(halted, 'detail')],
  );
}

function checkpointKey(topic: string, partition: number): string {
  return `${topic}:${partition}`; // Kafka topic names hold no colon
}

/**
 * Every batch's checkpoint, locked until the commit (in the batches' order). A partition never
 * projected gets its row first, so that a second projector handed it at the same moment (a
 * rebalance) waits for the first one's commit and then skips what it applied, instead of finding
 * no row to lock and planning the same events against rooms the first one just wrote.
 */
async function lockCheckpoints(flight: QueryFlight, batches: readonly PartitionBatch[]): Promise<Map<string, bigint>> {
  flight.send(
    `INSERT INTO projection_checkpoints (topic, partition, next_offset)
     SELECT v.topic, v.partition, 0 FROM unnest($1::text[], $2::int[]) AS v(topic, partition) ON CONFLICT DO NOTHING`,
    [col(batches, 'topic'), col(batches, 'partition')],
  );
  const { rows } = await flight.query<{ topic: string; partition: number; next_offset: string }>(
    `SELECT c.topic, c.partition, c.next_offset FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS v(topic, partition, n)
       JOIN projection_checkpoints c ON c.topic = v.topic AND c.partition = v.partition
      ORDER BY v.n FOR UPDATE OF c`,
    [col(batches, 'topic'), col(batches, 'partition')],
  );
  return new Map(rows.map((r) => [checkpointKey(r.topic, r.partition), BigInt(r.next_offset)]));
}

function setAside(letters: Map<string, SetAside[]>, topic: string, letter: SetAside): void {
  const set = letters.get(topic) ?? [];
  letters.set(topic, set);
  set.push(letter);
}

/** Plans and writes room events: one multi-row statement per table, whatever their number. */
export async function applyRoomEvents(
  flight: QueryFlight,
  topic: string,
  events: readonly EventRecord[],
  options: ApplyOptions = {},
): Promise<Applied> {
  const records: PlannedRecord[] = [];
  // A room's events all come from one partition.
  const partitionOf = new Map<string, number>();
  for (const { partition, offset, event } of events) {
    if (!isRoomEvent(event)) throw new NotApplicableError(`${event.type} does not belong in the room topic`);
    records.push({ offset, event });
    partitionOf.set(event.roomId, partition);
  }
  const redrive = options.redrive ?? false;
  const plan = planBatch(records, { ...(await loadKnownState(flight, records, redrive)), redrive });
  if (plan.conflict) {
    const { offset, roomId, detail } = plan.conflict;
    throw new RevisionConflict({ topic, partition: partitionOf.get(roomId)!, offset, roomId, detail });
  }
  writePlan(flight, plan, options.commandSchema);
  if (plan.erasures.length > 0) await eraseMembers(flight, plan.erasures, options.commandSchema);
  if (plan.expiries.length > 0) await expireHistory(flight, plan.expiries, options.commandSchema);
  if (plan.faults.length > 0) {
    const f = plan.faults;
    flight.send(
      `INSERT INTO projection_faults (topic, partition, "offset", room_id, kind, detail)
       SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[])
       ON CONFLICT DO NOTHING`,
      [topic, f.map((fault) => partitionOf.get(fault.roomId)), col(f, 'offset'), col(f, 'roomId'), col(f, 'kind'), col(f, 'detail')],
    );
  }
  return { faults: plan.faults.length, notifications: plan.notifications };
}

async function loadKnownState(flight: QueryFlight, records: readonly PlannedRecord[], redrive: boolean) {
  const roomIds = [...new Set(records.map((r) => r.event.roomId))];
  // FOR UPDATE: a second projector handed the same partition during a rebalance waits here
  // instead of handing out the same sequences.
  const roomsRead = flight.query<{ room_id: string; last_sequence: string; revision: string }>(
    'SELECT room_id, last_sequence, revision FROM rooms WHERE room_id = ANY($1::uuid[]) FOR UPDATE',
    [roomIds],
  );
  // Who the messages' @names are: one statement for the whole batch, in the same round trip.
  const names = [...new Set(records.flatMap((r) => (r.event.type === 'MessageSent' ? mentionedNames(r.event.body) : [])))];
  const usersRead =
    names.length === 0
      ? { rows: [] }
      : flight.query<{ key: string; user_id: string }>(
          'SELECT lower(normalize(username, NFKC)) AS key, user_id::text FROM users WHERE lower(normalize(username, NFKC)) = ANY($1::text[])',
          [names],
        );
  const [rooms, users] = await Promise.all([roomsRead, usersRead]);
  const revision = new Map(rooms.rows.map((r) => [r.room_id, Number(r.revision)]));
  return {
    lastSequence: new Map(rooms.rows.map((r) => [r.room_id, Number(r.last_sequence)])),
    revision,
    eventIds: redrive ? new Map<string, string>() : await eventIdsPassed(flight, records, revision),
    superseded: redrive ? await supersededLetters(flight, records, revision) : undefined,
    usersByName: new Map(users.rows.map((u) => [u.key, u.user_id])),
  };
}

/**
 * Re-driving: the records whose room has passed their revision and already shows a later event
 * that overrides them (`overriddenBy`). Letters are re-driven one at a time, so one statement
 * each is no cost worth batching.
 */
async function supersededLetters(flight: QueryFlight, records: readonly PlannedRecord[], revision: ReadonlyMap<string, number>) {
  const superseded = new Set<string>();
  for (const { event } of records) {
    const overrides = overriddenBy(event);
    if (!overrides || event.revision === 0 || event.revision > (revision.get(event.roomId) ?? 0)) continue;
    const { rows } = await flight.query(
      `SELECT 1 FROM room_events
        WHERE room_id = $1 AND revision > $2 AND type = ANY($3::text[])
          AND ($4::text IS NULL OR data ->> 'userId' = $4) AND ($5::text IS NULL OR data ->> 'messageId' = $5)
          AND ($6::text IS NULL OR data ->> 'emoji' = $6) AND ($7::text IS NULL OR actor_id = $7)
        LIMIT 1`,
      [
        event.roomId,
        event.revision,
        overrides.types,
        overrides.userId ?? null,
        overrides.messageId ?? null,
        overrides.emoji ?? null,
        overrides.actorId ?? null,
      ],
    );
    if (rows.length > 0) superseded.add(revisionKey(event.roomId, event.revision));
  }
  return superseded;
}

/**
 * The stored event ids of the revisions in `records` that their rooms have already passed: only
 * a redelivery or a log holding something twice has any, so the usual batch asks nothing more.
 */
async function eventIdsPassed(flight: QueryFlight, records: readonly PlannedRecord[], revision: ReadonlyMap<string, number>) {
  const passed = records.filter(({ event }) => event.revision > 0 && event.revision <= (revision.get(event.roomId) ?? 0));
  if (passed.length === 0) return new Map<string, string>();
  const { rows } = await flight.query<{ room_id: string; revision: string; event_id: string }>(
    `SELECT e.room_id::text, e.revision, e.event_id::text FROM room_events e
       JOIN unnest($1::uuid[], $2::bigint[]) AS v(room_id, revision) ON e.room_id = v.room_id AND e.revision = v.revision
      WHERE e.event_id IS NOT NULL`,
    [passed.map((r) => r.event.roomId), passed.map((r) => r.event.revision)],
  );
  return new Map(rows.map((r) => [revisionKey(r.room_id, Number(r.revision)), r.event_id]));
}

function writePlan(flight: QueryFlight, plan: BatchPlan, commandSchema: string | undefined): void {
  if (plan.rooms.length > 0) {
    const r = plan.rooms;
    flight.send(
      `INSERT INTO rooms (room_id, name, topic, visibility, kind, created_by, created_at, last_activity_at)
       SELECT v.*, v.created_at FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
         AS v(room_id, name, topic, visibility, kind, created_by, created_at)
       ON CONFLICT (room_id) DO NOTHING`,
      [
        col(r, 'roomId'),
        col(r, 'name'),
        col(r, 'topic'),
        col(r, 'visibility'),
        col(r, 'kind'),
        col(r, 'createdBy'),
        r.map((room) => new Date(room.createdAt)),
      ],
    );
  }
  writeMemberships(flight, [...plan.memberships.values()]);
  writeInvitations(flight, [...plan.invitations.values()]);
  writeRoomUpdates(flight, plan.roomUpdates);
  if (plan.messages.length > 0) {
    // One JSON document for the rows (a row per event, so the busiest statement): serialised
    // natively and parsed by Postgres, where a text array per column cost the projector more.
    flight.send(
      `INSERT INTO messages (room_id, sequence, message_id, sender_id, client_message_id, body, sent_at, event_id, revision, reply_to, format, attachments,
                             content_share)
       SELECT "roomId", sequence, "messageId", "senderId", "clientMessageId", body, ${fromEpochMs('"sentAt"')}, "eventId", revision, "replyTo", format,
              attachments, "contentShare"
         FROM json_to_recordset($1::json) AS v("roomId" uuid, sequence bigint, "messageId" uuid, "senderId" text, "clientMessageId" text,
                                               body text, "sentAt" bigint, "eventId" uuid, revision bigint, "replyTo" uuid, format text,
                                               attachments jsonb, "contentShare" uuid)`,
      [JSON.stringify(plan.messages)],
    );
  }
  writeMessageChanges(flight, plan);
  const touched = [...new Set([...plan.lastSequence.keys(), ...plan.revision.keys()])];
  if (touched.length > 0) {
    flight.send(
      `UPDATE rooms SET last_sequence = COALESCE(v.last_sequence, rooms.last_sequence), revision = COALESCE(v.revision, rooms.revision),
              last_activity_at = GREATEST(rooms.last_activity_at, v.last_activity_at)
         FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::timestamptz[]) AS v(room_id, last_sequence, revision, last_activity_at)
        WHERE rooms.room_id = v.room_id`,
      [
        touched,
        touched.map((id) => plan.lastSequence.get(id) ?? null),
        touched.map((id) => plan.revision.get(id) ?? null),
        touched.map((id) => (plan.lastActivity.has(id) ? new Date(plan.lastActivity.get(id)!) : null)),
      ],
    );
  }
  writeReadState(flight, plan);
  if (plan.roomEvents.length > 0) {
    // As one JSON document too (the message itself lives in messages, an edit's text in message_edits).
    // With the id of the event at each revision: what tells a replay from a second writer's event.
    const rows = plan.roomEvents.map((view) => ({
      ...storedRoomEvent(view),
      eventId: plan.eventIds.get(revisionKey(view.roomId, view.revision)),
    }));
    flight.send(
      `INSERT INTO room_events (room_id, revision, type, actor_id, occurred_at, data, event_id)
       SELECT "roomId", revision, type, "actorId", ${fromEpochMs('"occurredAt"')}, data, "eventId"
         FROM json_to_recordset($1::json)
           AS v("roomId" uuid, revision bigint, type text, "actorId" text, "occurredAt" bigint, data jsonb, "eventId" uuid)
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(rows)],
    );
  }
  writeDeletes(flight, plan, commandSchema);
}

/** Read markers (forward only, never past the room's end) and mentions of members. After rooms and members are written. */
function writeReadState(flight: QueryFlight, plan: BatchPlan): void {
  const markers = [...plan.readMarkers.values()];
  if (markers.length > 0) {
    flight.send(
      `UPDATE room_members SET read_up_to = GREATEST(room_members.read_up_to, LEAST(v.up_to, rooms.last_sequence))
         FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS v(room_id, user_id, up_to) JOIN rooms ON rooms.room_id = v.room_id
        WHERE room_members.room_id = v.room_id AND room_members.user_id = v.user_id`,
      [col(markers, 'roomId'), col(markers, 'userId'), col(markers, 'upTo')],
    );
  }
  const m = plan.mentions;
  if (m.length > 0) {
    flight.send(
      `INSERT INTO message_mentions (message_id, room_id, sequence, user_id)
       SELECT v.* FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[]) AS v(message_id, room_id, sequence, user_id)
        WHERE EXISTS (SELECT 1 FROM room_members rm WHERE rm.room_id = v.room_id AND rm.user_id = v.user_id)
       ON CONFLICT DO NOTHING`,
      [col(m, 'messageId'), col(m, 'roomId'), col(m, 'sequence'), col(m, 'userId')],
    );
  }
}

/**
 * Edits and reactions, after the batch's new messages are in. Every statement names the room
 * and the message: an event of one room never reaches a message of another, whatever id it carries.
 */
function writeMessageChanges(flight: QueryFlight, plan: BatchPlan): void {
  if (plan.edits.size > 0) {
    const edits = [...plan.edits.values()];
    flight.send(
      `UPDATE messages SET body = v.body, edited_at = v.edited_at
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[]) AS v(room_id, message_id, body, edited_at)
        WHERE messages.room_id = v.room_id AND messages.message_id = v.message_id AND messages.deleted_at IS NULL`,
      [col(edits, 'roomId'), col(edits, 'messageId'), col(edits, 'body'), edits.map((e) => new Date(e.editedAt))],
    );
  }
  const texts = plan.editTexts;
  if (texts.length > 0) {
    // Kept only for a message of that room that is still there, as the edit itself applies.
    flight.send(
      `INSERT INTO message_edits (room_id, message_id, revision, body, content_share)
       SELECT v.* FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::uuid[]) AS v(room_id, message_id, revision, body, content_share)
        WHERE EXISTS (SELECT 1 FROM messages m WHERE m.room_id = v.room_id AND m.message_id = v.message_id AND m.deleted_at IS NULL)
       ON CONFLICT DO NOTHING`,
      [col(texts, 'roomId'), col(texts, 'messageId'), col(texts, 'revision'), col(texts, 'body'), col(texts, 'contentShare')],
    );
  }
  const reactions = [...plan.reactions.values()];
  const added = reactions.filter((r) => r.change === 'added');
  const removed = reactions.filter((r) => r.change === 'removed');
  if (added.length > 0) {
    flight.send(
      `INSERT INTO message_reactions (room_id, message_id, user_id, emoji, reacted_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) ON CONFLICT DO NOTHING`,
      [col(added, 'roomId'), col(added, 'messageId'), col(added, 'userId'), col(added, 'emoji'), added.map((r) => new Date(r.at))],
    );
  }
  if (removed.length > 0) {
    flight.send(
      `DELETE FROM message_reactions USING unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS v(room_id, message_id, user_id, emoji)
        WHERE message_reactions.room_id = v.room_id AND message_reactions.message_id = v.message_id
          AND message_reactions.user_id = v.user_id AND message_reactions.emoji = v.emoji`,
      [col(removed, 'roomId'), col(removed, 'messageId'), col(removed, 'userId'), col(removed, 'emoji')],
    );
  }
}

/**
 * Deleted messages take what they said with them, in this transaction: the keys of their
 * sealed content, the body (and with it the search index entry, an expression over the body),
 * every edit's text, the attachments (their objects queued for removal), the reactions, the
 * mentions, and the mentions their MessageSent event kept in room_events. Last, so that
 * whatever the batch wrote before about those messages goes too.
 */
function writeDeletes(flight: QueryFlight, plan: BatchPlan, commandSchema: string | undefined): void {
  if (plan.deletes.size > 0) tombstone(flight, [...plan.deletes.values()], plan.erasedShares, commandSchema);
}

/**
 * Members who deleted their account: every message they wrote in the room and had not deleted
 * becomes a tombstone of the erasure's time, through the same path as a deletion (one read, for
 * their messages, after the batch's own writes), and their reactions go (mentions of them go with AccountDeleted, pg-users.ts).
 */
async function eraseMembers(flight: QueryFlight, erasures: BatchPlan['erasures'], commandSchema: string | undefined): Promise<void> {
  const members = [col(erasures, 'roomId'), col(erasures, 'userId')];
  const { rows } = await flight.query<{ room_id: string; message_id: string; erased_at: string }>(
    `SELECT m.room_id::text, m.message_id::text, v.erased_at FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS v(room_id, user_id, erased_at)
       JOIN messages m ON m.room_id = v.room_id AND m.sender_id = v.user_id
      WHERE m.deleted_at IS NULL`,
    [...members, col(erasures, 'at')],
  );
  tombstoneFound(flight, rows, commandSchema);
  flight.send(
    `DELETE FROM message_reactions t USING unnest($1::uuid[], $2::text[]) AS v(room_id, user_id) WHERE t.room_id = v.room_id AND t.user_id = v.user_id`,
    members,
  );
}

/**
 * Rooms whose retention passed: every message sent before the cutoff and not deleted yet becomes
 * a tombstone of the expiry's time (their keys are erased already), through the deletion's path.
 */
async function expireHistory(flight: QueryFlight, expiries: BatchPlan['expiries'], commandSchema: string | undefined): Promise<void> {
  const { rows } = await flight.query<{ room_id: string; message_id: string; erased_at: string }>(
    `SELECT m.room_id::text, m.message_id::text, v.erased_at FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS v(room_id, before, erased_at)
       JOIN messages m ON m.room_id = v.room_id AND m.sent_at < ${fromEpochMs('v.before')}
      WHERE m.deleted_at IS NULL`,
    [col(expiries, 'roomId'), col(expiries, 'before'), col(expiries, 'at')],
  );
  tombstoneFound(flight, rows, commandSchema);
}

/** Tombstones for the messages an erasure or an expiry found, each at its `erased_at` (epoch ms). */
function tombstoneFound(
  flight: QueryFlight,
  rows: readonly { room_id: string; message_id: string; erased_at: string }[],
  commandSchema: string | undefined,
): void {
  const messages = rows.map((r) => ({ roomId: r.room_id, messageId: r.message_id, at: Number(r.erased_at) }));
  if (messages.length > 0) tombstone(flight, messages, [], commandSchema);
}

/** Empties deleted messages (see writeDeletes), whatever deleted them. */
function tombstone(
  flight: QueryFlight,
  deletes: readonly (MessageKey & { at: number })[],
  erasedShares: readonly string[],
  commandSchema: string | undefined,
): void {
  const keys = [col(deletes, 'roomId'), col(deletes, 'messageId')];
  // Crypto-shredding: the shares of the message and of its edits, first, while their rows still
  // name them. Erased, not removed: an erased share opens as erased, a missing one is a fault.
  if (commandSchema) {
    flight.send(
      `UPDATE ${commandSchema}.content_shares s SET share = NULL, erased_at = now()
         FROM (SELECT m.content_share FROM messages m JOIN unnest($1::uuid[], $2::uuid[]) AS v(room_id, message_id) USING (room_id, message_id)
               UNION ALL
               SELECT e.content_share FROM message_edits e JOIN unnest($1::uuid[], $2::uuid[]) AS v(room_id, message_id) USING (room_id, message_id)
               UNION ALL
               SELECT unnest($3::uuid[])) AS x(share_id)
        WHERE s.share_id = x.share_id AND s.share IS NOT NULL`,
      [...keys, erasedShares],
    );
    // What the sender named their files, kept with the uploads they claimed.
    flight.send(
      `UPDATE ${commandSchema}.command_uploads u SET name = '', attachment = NULL
         FROM messages m JOIN unnest($1::uuid[], $2::uuid[]) AS v(room_id, message_id) USING (room_id, message_id),
              jsonb_array_elements(m.attachments) a
        WHERE u.upload_id = (a->>'attachmentId')::uuid`,
      keys,
    );
  }
  // Their files leave the object store after this commits (the queue is read by object-erasure.ts).
  flight.send(
    `INSERT INTO object_erasures (attachment_id)
     SELECT (a->>'attachmentId')::uuid
       FROM messages m JOIN unnest($1::uuid[], $2::uuid[]) AS v(room_id, message_id) USING (room_id, message_id),
            jsonb_array_elements(m.attachments) a
     ON CONFLICT DO NOTHING`,
    keys,
  );
  // A tombstone: the place in history stays.
  flight.send(
    `UPDATE messages SET body = '', attachments = '[]', deleted_at = v.deleted_at
       FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS v(room_id, message_id, deleted_at)
      WHERE messages.room_id = v.room_id AND messages.message_id = v.message_id`,
    [...keys, deletes.map((d) => new Date(d.at))],
  );
  for (const table of ['message_reactions', 'message_mentions', 'message_edits']) {
    flight.send(
      `DELETE FROM ${table} t USING unnest($1::uuid[], $2::uuid[]) AS v(room_id, message_id)
        WHERE t.room_id = v.room_id AND t.message_id = v.message_id`,
      keys,
    );
  }
  flight.send(
    `UPDATE room_events e SET data = e.data - 'mentions'
       FROM unnest($1::uuid[], $2::uuid[]) AS v(room_id, message_id) JOIN messages m USING (room_id, message_id)
      WHERE e.room_id = m.room_id AND e.revision = m.revision AND e.type = 'MessageSent' AND e.data ? 'mentions'`,
    keys,
  );
}

/** Memberships as the batch left them: one statement per kind of change, whatever their number. */
function writeMemberships(flight: QueryFlight, memberships: Membership[]): void {
  const joined = memberships.filter((m) => m.change === 'joined');
  const roles = memberships.filter((m) => m.change === 'role');
  const gone = memberships.filter((m) => m.change === 'gone');
  if (joined.length > 0) {
    flight.send(
      `INSERT INTO room_members (room_id, user_id, role, joined_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
       ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role, joined_at = excluded.joined_at`,
      [col(joined, 'roomId'), col(joined, 'userId'), col(joined, 'role'), joined.map((m) => new Date(m.joinedAt))],
    );
  }
  if (roles.length > 0) {
    flight.send(
      `UPDATE room_members SET role = v.role FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(room_id, user_id, role)
        WHERE room_members.room_id = v.room_id AND room_members.user_id = v.user_id`,
      [col(roles, 'roomId'), col(roles, 'userId'), col(roles, 'role')],
    );
  }
  if (gone.length > 0) {
    flight.send(
      `DELETE FROM room_members USING unnest($1::uuid[], $2::text[]) AS v(room_id, user_id)
        WHERE room_members.room_id = v.room_id AND room_members.user_id = v.user_id`,
      [col(gone, 'roomId'), col(gone, 'userId')],
    );
  }
}

function writeInvitations(flight: QueryFlight, invitations: Invitation[]): void {
  const open = invitations.filter((i) => i.change === 'invited');
  const gone = invitations.filter((i) => i.change === 'gone');
  if (open.length > 0) {
    flight.send(
      `INSERT INTO room_invitations (room_id, user_id, invited_by, invited_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT DO NOTHING`,
      [col(open, 'roomId'), col(open, 'userId'), col(open, 'invitedBy'), open.map((i) => new Date(i.invitedAt))],
    );
  }
  if (gone.length > 0) {
    flight.send(
      `DELETE FROM room_invitations USING unnest($1::uuid[], $2::text[]) AS v(room_id, user_id)
        WHERE room_invitations.room_id = v.room_id AND room_invitations.user_id = v.user_id`,
      [col(gone, 'roomId'), col(gone, 'userId')],
    );
  }
}

function writeRoomUpdates(flight: QueryFlight, updates: ReadonlyMap<string, RoomUpdate>): void {
  if (updates.size === 0) return;
  const rows = [...updates];
  flight.send(
    `UPDATE rooms SET name = COALESCE(v.name, rooms.name), topic = CASE WHEN v.topic_set THEN v.topic ELSE rooms.topic END,
                      retention_days = CASE WHEN v.retention_set THEN v.retention_days ELSE rooms.retention_days END
       FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::text[], $5::bool[], $6::int[]) AS v(room_id, name, topic_set, topic, retention_set, retention_days)
      WHERE rooms.room_id = v.room_id`,
    [
      rows.map(([id]) => id),
      rows.map(([, u]) => u.name ?? null),
      rows.map(([, u]) => 'topic' in u),
      rows.map(([, u]) => u.topic ?? null),
      rows.map(([, u]) => 'retentionDays' in u),
      rows.map(([, u]) => u.retentionDays ?? null),
    ],
  );
}

/** Epoch milliseconds as timestamptz, exactly (no floating-point seconds). */
function fromEpochMs(column: string): string {
  return `'epoch'::timestamptz + ${column} * interval '1 millisecond'`;
}

function col<T, K extends keyof T>(rows: readonly T[], key: K): T[K][] {
  return rows.map((row) => row[key]);
}
