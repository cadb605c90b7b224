import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka, TOPICS, topicName } from '@chat/platform';
import type { RoomDomainEvent } from '@chat/schemas';
import { startStack, type Stack } from '@chat/infra';
import { TestUsers } from '../src/accounts.ts';
import { gql, instanceFetch } from '../src/graphql.ts';
import { topicSize } from '../src/kafka.ts';
import { byRoom, readRoomLog, roomLogFindings, type LoggedEvent } from '../src/room-log.ts';

// Several command-service instances side by side: each partition of the room topic has one
// owner at a time (a Kafka consumer group), any instance serves any room by forwarding, and
// the log stays a clean event store through concurrent load, crashes and frozen owners:
// per-room revisions 1..n with no gap or repeat, every idempotency key once, nothing written
// by an owner after its successor began.

const SESSION_TIMEOUT_MS = 6000;
const PARTITIONS = TOPICS.roomEvents.partitions;
const ALL_PARTITIONS = Array.from({ length: PARTITIONS }, (_, p) => p);

type Instance = ReturnType<Stack['instance']>;

const RECEIPT = `receipt { eventId position { partition offset } revision duplicate projected }`;
const ERROR = `... on CommandError { code message currentRevision }`;
const CREATE_ROOM = `mutation($name: String!, $commandId: ID) { createRoom(name: $name, commandId: $commandId) {
  __typename ... on RoomAccepted { roomId ${RECEIPT} } ${ERROR} } }`;
const JOIN_ROOM = `mutation($roomId: ID!, $commandId: ID, $expectedRevision: Int) {
  joinRoom(roomId: $roomId, commandId: $commandId, expectedRevision: $expectedRevision) {
  __typename ... on RoomAccepted { roomId ${RECEIPT} } ${ERROR} } }`;
const SEND = `mutation($roomId: ID!, $body: String!, $key: ID!, $expectedRevision: Int) {
  sendMessage(roomId: $roomId, body: $body, clientMessageId: $key, expectedRevision: $expectedRevision) {
  __typename ... on MessageAccepted { roomId messageId ${RECEIPT} } ${ERROR} } }`;
const HISTORY = `query($roomId: ID!) { messages(roomId: $roomId, first: 200) {
  edges { node { id sequence body senderId clientMessageId } } } }`;

interface Receipt {
  eventId: string | null;
  position: { partition: number; offset: string } | null;
  revision: number;
  duplicate: boolean;
  projected: boolean;
}
/** Any of the three mutations' results: an acceptance or a typed refusal. */
interface Result {
  __typename: 'RoomAccepted' | 'MessageAccepted' | 'CommandError';
  roomId?: string;
  messageId?: string;
  receipt?: Receipt;
  code?: string;
  message?: string;
  currentRevision?: number | null;
}
type Field = 'createRoom' | 'joinRoom' | 'sendMessage';
const DOCUMENTS: Record<Field, string> = { createRoom: CREATE_ROOM, joinRoom: JOIN_ROOM, sendMessage: SEND };

/** A mutation's answer, or the network error that stood in for one (refused, reset, timed out). */
type Answer = { result: Result } | { network: string };

let stack: Stack;
let users: TestUsers;
const USER_NAMES = [
  'ida',
  'ivo',
  'kim',
  'zed',
  'rex',
  'ria',
  'dora',
  'dan',
  ...[0, 1, 2, 3, 4, 5].flatMap((r) => [`owner-${r}`, `member-${r}`]),
];

beforeAll(async () => {
  stack = await startStack('ownership', { COMMAND_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) });
  users = new TestUsers(stack.commandUrl);
  // Signed up while every instance is up: later tests kill and freeze instances.
  await Promise.all(USER_NAMES.map((name) => users.get(name)));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

/** One POST of a mutation as a test user; network failures come back as values, GraphQL errors throw (a test bug or a server bug). */
async function post(
  instance: Instance,
  field: Field,
  variables: Record<string, unknown>,
  userName: string,
  timeoutMs = 30_000,
): Promise<Answer> {
  const token = await users.token(userName);
  let text: string;
  try {
    const response = await instanceFetch(instance.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: DOCUMENTS[field], variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    return { network: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  let body: { data?: Record<Field, Result>; errors?: { message: string }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { network: `not JSON from ${instance.baseUrl}: ${text.slice(0, 200)}` };
  }
  if (body.errors?.length) throw new Error(`${field} on ${instance.baseUrl}: ${body.errors.map((e) => e.message).join('; ')}`);
  return { result: body.data![field] };
}

const isUnavailable = (answer: Answer) => 'network' in answer || answer.result.code === 'UNAVAILABLE';

interface Retried {
  result: Result;
  /** How many answers were UNAVAILABLE or network errors before the final one. */
  retries: number;
}

/**
 * Runs a command as a careful client does: on UNAVAILABLE or a network error it sends the
 * same command with the same idempotency key to the next instance, for a bounded time.
 */
async function command(
  instances: Instance[],
  first: number,
  field: Field,
  variables: Record<string, unknown>,
  userId: string,
  budgetMs = 60_000,
): Promise<Retried> {
  const seen: string[] = [];
  const deadline = Date.now() + budgetMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (attempt > 0) await sleep(Math.min(100 * attempt, 1000));
    const instance = instances[(first + attempt) % instances.length]!;
    const answer = await post(instance, field, variables, userId, Math.max(1000, deadline - Date.now()));
    if (!isUnavailable(answer)) return { result: (answer as { result: Result }).result, retries: attempt };
    seen.push(`${new Date().toISOString()} ${'network' in answer ? answer.network : `UNAVAILABLE: ${answer.result.message}`}`);
  }
  throw new Error(`${field} ${JSON.stringify(variables)} still unavailable after ${budgetMs} ms: ${seen.slice(-3).join(' | ')}`);
}

/** A command that must be accepted; returns its result. */
async function accepted(instances: Instance[], first: number, field: Field, variables: Record<string, unknown>, userId: string) {
  const { result } = await command(instances, first, field, variables, userId);
  expect(result, `${field} ${JSON.stringify(variables)} as ${userId}`).toMatchObject({
    __typename: field === 'sendMessage' ? 'MessageAccepted' : 'RoomAccepted',
  });
  return result as Result & { roomId: string; receipt: Receipt };
}

interface Partitions {
  owned: number[];
  ready: number[];
}

async function partitionsOf(instance: Instance): Promise<Partitions> {
  const response = await instanceFetch(`${instance.internalUrl}/partitions`, { signal: AbortSignal.timeout(2000) });
  if (!response.ok) throw new Error(`${instance.internalUrl}/partitions answered ${response.status}`);
  return (await response.json()) as Partitions;
}

/** What keeps `instances` from owning every partition exactly once, each ready where it is owned; [] once settled. */
async function ownershipProblems(instances: Instance[]): Promise<string[]> {
  const views = await Promise.all(instances.map((i) => partitionsOf(i).catch((e: unknown) => `${i.baseUrl}: ${String(e)}`)));
  const problems = views.filter((v): v is string => typeof v === 'string');
  if (problems.length) return problems;
  for (const p of ALL_PARTITIONS) {
    const owners = views.flatMap((v, i) => ((v as Partitions).owned.includes(p) ? [i] : []));
    if (owners.length !== 1) problems.push(`partition ${p} owned by instances [${owners.join(',')}]`);
    else if (!(views[owners[0]!] as Partitions).ready.includes(p)) problems.push(`partition ${p} not ready on instance ${owners[0]}`);
  }
  return problems;
}

/** Waits until the group settled: each partition owned by exactly one of `instances` and ready there. */
async function settled(instances: Instance[]): Promise<Partitions[]> {
  await expect.poll(() => ownershipProblems(instances), { timeout: 60_000, interval: 200 }).toEqual([]);
  return Promise.all(instances.map(partitionsOf));
}

/** The stack's first command-service instance, started again when an earlier test killed it. */
async function primary(): Promise<Instance> {
  const current = stack.instance('command-service');
  if (current.child.exitCode === null && current.child.signalCode === null) return current;
  await stack.stopService('command-service');
  await stack.startService('command-service');
  return stack.instance('command-service');
}

/** `n` command-service instances: the first plus n-1 extras; `release` stops the extras still running. */
async function instances(n: number) {
  const first = await primary();
  const extras = await Promise.all(Array.from({ length: n - 1 }, () => stack.startExtra('command-service')));
  return { all: [first, ...extras], release: () => Promise.all(extras.map((extra) => extra.stop())) };
}

const roomEventCount = () => topicSize(createKafka(stack.config, 'test-sizes'), topicName(stack.config.topicPrefix, 'roomEvents'));

/** Per room: revisions exactly 1..n in log order, every event in one partition, keyed by the room. */
function expectCleanRooms(log: LoggedEvent[], roomIds: string[]): Map<string, LoggedEvent[]> {
  expect(roomLogFindings(log, roomIds)).toEqual([]);
  // Every command of these tests carries its key.
  expect(log.filter((e) => !e.event.commandId).map((e) => e.event.eventId)).toEqual([]);
  return byRoom(log);
}

function messageIdsOf(events: LoggedEvent[]): string[] {
  return events.flatMap((e) => (e.event.type === 'MessageSent' ? [e.event.messageId] : []));
}

/** Where a receipt says its event is, and where the log has it, agree. */
function expectReceiptMatchesLog(receipt: Receipt, log: LoggedEvent[]) {
  const entry = log.find((e) => e.event.eventId === receipt.eventId);
  expect(entry, `event ${receipt.eventId} in the log`).toBeDefined();
  expect({ partition: entry!.partition, offset: entry!.offset.toString(), revision: entry!.event.revision }).toEqual({
    partition: receipt.position?.partition,
    offset: receipt.position?.offset,
    revision: receipt.revision,
  });
}

describe('command-service instances side by side', () => {
  it('serves concurrent commands round-robin over three instances with gap-free revisions and every key once', async () => {
    const { all, release } = await instances(3);
    try {
      const views = await settled(all);
      // The group spreads the partitions: every instance owns some, so round-robin requests are forwarded.
      expect(views.map((v) => v.owned.length).every((n) => n > 0)).toBe(true);

      const ROOMS = 6;
      const MESSAGES = 40;
      let next = 0;
      const rr = () => next++ % all.length;
      const rooms = await Promise.all(
        Array.from({ length: ROOMS }, async (_, r) => {
          const owner = `owner-${r}`;
          const member = `member-${r}`;
          const created = await accepted(all, rr(), 'createRoom', { name: `load ${r}`, commandId: `load-create-${r}` }, owner);
          expect(created.receipt).toMatchObject({ revision: 1, duplicate: false });
          const joined = await accepted(all, rr(), 'joinRoom', { roomId: created.roomId, commandId: `load-join-${r}` }, member);
          expect(joined.receipt).toMatchObject({ revision: 2, duplicate: false });
          return { roomId: created.roomId, users: [owner, member], receipts: [created.receipt, joined.receipt] };
        }),
      );

      const sends = rooms.flatMap((room) =>
        Array.from({ length: MESSAGES }, (_, i) => ({ room, i, user: room.users[i % 2]!, key: `load-${i}`, body: `message ${i}` })),
      );
      const results = await Promise.all(
        sends.map(async (send) => {
          const { result, retries } = await command(
            all,
            rr(),
            'sendMessage',
            { roomId: send.room.roomId, body: send.body, key: send.key },
            send.user,
          );
          expect(result, `${send.key} in ${send.room.roomId}`).toMatchObject({ __typename: 'MessageAccepted', roomId: send.room.roomId });
          return { ...send, result, retries };
        }),
      );
      console.log(`load: ${results.length} messages, ${results.reduce((n, r) => n + r.retries, 0)} retries`);

      const log = await readRoomLog(stack.config);
      const logged = expectCleanRooms(
        log,
        rooms.map((room) => room.roomId),
      );
      for (const room of rooms) {
        const events = logged.get(room.roomId)!;
        expect(events.map((e) => e.event.type)).toEqual(['RoomCreated', 'MemberJoined', ...Array<string>(MESSAGES).fill('MessageSent')]);
        const mine = results.filter((r) => r.room === room);
        // Every accepted message is in the log exactly once, and the log has no message nobody was told about.
        expect(messageIdsOf(events).toSorted()).toEqual(mine.map((r) => r.result.messageId!).toSorted());
        for (const receipt of [...room.receipts, ...mine.map((r) => r.result.receipt!)]) expectReceiptMatchesLog(receipt, log);

        // History on the query side holds the same messages in log order.
        const expected = events
          .filter((e) => e.event.type === 'MessageSent')
          .map((e, i) => {
            const event = e.event as Extract<RoomDomainEvent, { type: 'MessageSent' }>;
            return { id: event.messageId, sequence: i + 1, body: event.body, senderId: event.actorId, clientMessageId: event.commandId };
          });
        await expect
          .poll(
            async () =>
              (await gql(stack.queryUrl, HISTORY, { roomId: room.roomId }, await users.token(room.users[0]!))).messages.edges.map(
                (e: any) => e.node,
              ),
            {
              timeout: 30_000,
            },
          )
          .toEqual(expected);
      }
    } finally {
      await release();
    }
  }, 240_000);

  it('answers a retried key on every instance with the first outcome, and the log holds it once', async () => {
    const { all, release } = await instances(3);
    try {
      await settled(all);
      const created = await Promise.all(all.map((_, i) => accepted(all, i, 'createRoom', { name: 'idem', commandId: 'idem-room' }, 'ida')));
      expect(new Set(created.map((c) => c.roomId)).size).toBe(1);
      expect(created.filter((c) => !c.receipt.duplicate)).toHaveLength(1);
      const roomId = created[0]!.roomId;
      // Retried later on each instance in turn: still the same room.
      for (let i = 0; i < all.length; i++) {
        const again = await accepted(all, i, 'createRoom', { name: 'idem', commandId: 'idem-room' }, 'ida');
        expect(again).toMatchObject({ roomId, receipt: { duplicate: true, revision: 1 } });
      }
      await accepted(all, 1, 'joinRoom', { roomId, commandId: 'idem-join' }, 'ivo');

      const send = (i: number, user = 'ida', key = 'same-key', room = roomId) =>
        accepted(all, i, 'sendMessage', { roomId: room, body: 'once', key }, user);
      const first = await send(0);
      expect(first.receipt).toMatchObject({ duplicate: false, revision: 3 });
      const size = await roomEventCount();
      for (let i = 0; i < all.length; i++) {
        const again = await send(i);
        expect(again, `retry on instance ${i}`).toMatchObject({
          messageId: first.messageId,
          receipt: { duplicate: true, eventId: first.receipt.eventId, position: first.receipt.position, revision: 3 },
        });
      }
      // The same key sent to all three at once: one decision, three identical answers.
      const raced = await Promise.all(all.map((_, i) => send(i, 'ida', 'raced-key')));
      expect(new Set(raced.map((r) => r.messageId)).size).toBe(1);
      expect(raced.filter((r) => !r.receipt.duplicate)).toHaveLength(1);
      expect(await roomEventCount()).toBeGreaterThan(size);
      const afterRace = await roomEventCount();
      await send(2, 'ida', 'raced-key');
      expect(await roomEventCount()).toBe(afterRace);

      // Keys are scoped per room and caller: another member, or another room, may reuse one.
      const otherUser = await send(1, 'ivo');
      expect(otherUser.receipt.duplicate).toBe(false);
      expect(otherUser.messageId).not.toBe(first.messageId);
      const otherRoom = await accepted(all, 2, 'createRoom', { name: 'idem 2', commandId: 'idem-room-2' }, 'ida');
      expect(otherRoom.roomId).not.toBe(roomId);
      const elsewhere = await send(2, 'ida', 'same-key', otherRoom.roomId);
      expect(elsewhere.receipt.duplicate).toBe(false);

      const log = await readRoomLog(stack.config);
      const events = expectCleanRooms(log, [roomId, otherRoom.roomId]).get(roomId)!;
      const [ida, ivo] = [await users.id('ida'), await users.id('ivo')];
      expect(events.map((e) => [e.event.type, e.event.actorId, e.event.commandId])).toEqual([
        ['RoomCreated', ida, 'idem-room'],
        ['MemberJoined', ivo, 'idem-join'],
        ['MessageSent', ida, 'same-key'],
        ['MessageSent', ida, 'raced-key'],
        ['MessageSent', ivo, 'same-key'],
      ]);
      expect(messageIdsOf(events)).toEqual([first.messageId, raced[0]!.messageId, otherUser.messageId]);
    } finally {
      await release();
    }
  }, 120_000);

  it('hands every partition of a SIGKILLed instance to the survivor, losing and repeating no command', async () => {
    const { all, release } = await instances(2);
    try {
      const views = await settled(all);
      const ownerOf = (partition: number) => views.findIndex((v) => v.owned.includes(partition));
      // Rooms on both instances' partitions, so the flow keeps writing to the partitions that move.
      const rooms: { roomId: string; owner: number }[] = [];
      for (let r = 0; r < 40 && !(rooms.filter((x) => x.owner === 0).length >= 2 && rooms.filter((x) => x.owner === 1).length >= 2); r++) {
        const created = await accepted(all, r, 'createRoom', { name: `crash ${r}`, commandId: `crash-room-${r}` }, 'kim');
        rooms.push({ roomId: created.roomId, owner: ownerOf(created.receipt.position!.partition) });
      }
      expect(new Set(rooms.map((r) => r.owner))).toEqual(new Set([0, 1]));

      let flowing = true;
      const sent: { roomId: string; key: string; result?: Result }[] = [];
      let retries = 0;
      const flows = rooms.map(async ({ roomId }, r) => {
        for (let i = 0; flowing; i++) {
          const entry: (typeof sent)[number] = { roomId, key: `crash-${r}-${i}` };
          sent.push(entry);
          const outcome = await command(all, i, 'sendMessage', { roomId, body: `flow ${r} ${i}`, key: entry.key }, 'kim', 90_000);
          entry.result = outcome.result;
          retries += outcome.retries;
        }
      });

      await expect.poll(() => sent.filter((s) => s.result).length, { timeout: 30_000 }).toBeGreaterThan(40);
      const counts = await Promise.all(all.map(async (i) => (await partitionsOf(i)).owned.length));
      const victim = counts[0]! >= counts[1]! ? 0 : 1;
      const survivor = all[1 - victim]!;
      const killedAt = performance.now();
      await all[victim]!.stop('SIGKILL');
      let takeoverMs = 0;
      await expect
        .poll(
          async () => {
            const ready = (await partitionsOf(survivor).catch((): Partitions => ({ owned: [], ready: [] }))).ready;
            takeoverMs = performance.now() - killedAt;
            return ALL_PARTITIONS.filter((p) => !ready.includes(p));
          },
          { timeout: 60_000, interval: 50 },
        )
        .toEqual([]);
      console.log(
        `takeover after SIGKILL of an instance owning ${counts[victim]} partitions: ${Math.round(takeoverMs)} ms until all ${PARTITIONS} are ready on the survivor (session timeout ${SESSION_TIMEOUT_MS} ms)`,
      );
      expect(takeoverMs).toBeLessThan(SESSION_TIMEOUT_MS + 20_000);

      // Keep writing for a while on the survivor alone, then stop and let every command finish.
      const afterTakeover = sent.length;
      await expect.poll(() => sent.filter((s) => s.result).length, { timeout: 30_000 }).toBeGreaterThan(afterTakeover + 20);
      flowing = false;
      await Promise.all(flows);
      console.log(`crash flow: ${sent.length} commands, ${retries} retries`);

      for (const s of sent) expect(s.result, s.key).toMatchObject({ __typename: 'MessageAccepted', roomId: s.roomId });
      const log = await readRoomLog(stack.config);
      const logged = expectCleanRooms(
        log,
        rooms.map((r) => r.roomId),
      );
      for (const { roomId } of rooms) {
        const events = logged.get(roomId)!.filter((e) => e.event.type === 'MessageSent');
        const mine = sent.filter((s) => s.roomId === roomId);
        // Every command sent is in the log exactly once, under the id its client was given.
        expect(events.map((e) => e.event.commandId).toSorted()).toEqual(mine.map((s) => s.key).toSorted());
        expect(messageIdsOf(events).toSorted()).toEqual(mine.map((s) => s.result!.messageId!).toSorted());
      }
    } finally {
      await release();
    }
  }, 120_000);

  it('fences a frozen owner: nothing it had pending lands after its successor began', async () => {
    const { all, release } = await instances(2);
    const [b, a] = all as [Instance, Instance]; // A is the extra: it is frozen, thawed and stopped here.
    try {
      await settled(all);
      const ownedByA = (await partitionsOf(a)).owned;
      expect(ownedByA.length).toBeGreaterThan(0);
      let roomId = '';
      let partition = -1;
      for (let r = 0; r < 40 && !ownedByA.includes(partition); r++) {
        roomId = (await accepted([a], 0, 'createRoom', { name: `zombie ${r}`, commandId: `zombie-room-${r}` }, 'zed')).roomId;
        const first = await accepted([a], 0, 'sendMessage', { roomId, body: 'first', key: `zombie-first-${r}` }, 'zed');
        partition = first.receipt.position!.partition;
      }
      expect(ownedByA).toContain(partition);
      expect((await partitionsOf(a)).ready).toContain(partition);

      // Commands in flight on A when it freezes (a long GC pause, a stopped VM).
      const keys = Array.from({ length: 6 }, (_, i) => `zombie-pending-${i}`);
      const pending = keys.map((key) => post(a, 'sendMessage', { roomId, body: key, key }, 'zed', 60_000));
      a.signal('SIGSTOP');

      // B takes every partition once A's session expired.
      await expect
        .poll(
          async () => {
            const { ready } = await partitionsOf(b);
            return ALL_PARTITIONS.filter((p) => !ready.includes(p));
          },
          { timeout: 60_000, interval: 200 },
        )
        .toEqual([]);
      const successor = await accepted([b], 0, 'sendMessage', { roomId, body: 'from the successor', key: 'zombie-successor' }, 'zed');
      expect(successor.receipt.position!.partition).toBe(partition);
      const successorOffset = BigInt(successor.receipt.position!.offset);

      a.signal('SIGCONT');
      const answers = await Promise.all(pending);
      console.log(
        `zombie answers: ${answers.map((x) => ('network' in x ? x.network : (x.result.code ?? x.result.__typename))).join(', ')}`,
      );
      const acceptedByA = new Map<string, Result>();
      for (const [i, answer] of answers.entries()) {
        if ('network' in answer) continue;
        if (answer.result.__typename === 'CommandError') expect(answer.result.code, keys[i]).toBe('UNAVAILABLE');
        else acceptedByA.set(keys[i]!, answer.result);
      }

      // Only A ever saw the pending commands so far: none of them may sit after B's first event.
      const zombieWrites = (log: LoggedEvent[]) =>
        log.filter((e) => e.event.roomId === roomId && keys.includes(e.event.commandId ?? '')).map((e) => ({ key: e.event.commandId!, e }));
      const seen = zombieWrites(await readRoomLog(stack.config));
      expect(seen.filter(({ e }) => e.offset > successorOffset).map(({ key, e }) => `${key}@${e.offset}`)).toEqual([]);
      // What A said it accepted is in the log, before the successor's first event.
      for (const [key, result] of acceptedByA) {
        expect(
          seen.map((x) => x.e.event.eventId),
          key,
        ).toContain(result.receipt!.eventId);
      }

      // The real outcome of each pending command, asked of the new owner with the same key: the
      // first answer where A had committed it, else a fresh acceptance.
      const outcomes = await Promise.all(keys.map((key) => accepted([b], 0, 'sendMessage', { roomId, body: key, key }, 'zed')));
      for (const [i, key] of keys.entries()) {
        const earlier = seen.find((x) => x.key === key);
        if (earlier) expect(outcomes[i], key).toMatchObject({ receipt: { duplicate: true, eventId: earlier.e.event.eventId } });
        else expect(outcomes[i]!.receipt.duplicate, key).toBe(false);
      }

      // A, thawed and stopped, wrote nothing more: each key once, revisions still gap-free.
      await a.stop();
      const log = await readRoomLog(stack.config);
      const events = expectCleanRooms(log, [roomId]).get(roomId)!;
      const late = zombieWrites(log).filter(({ e }) => e.offset > successorOffset);
      const retriedIds = outcomes.filter((o) => !o.receipt.duplicate).map((o) => o.receipt.eventId);
      expect(late.filter(({ e }) => !retriedIds.includes(e.event.eventId)).map(({ key, e }) => `${key}@${e.offset}`)).toEqual([]);
      for (const key of [...keys, 'zombie-successor'])
        expect(
          events.filter((e) => e.event.commandId === key),
          key,
        ).toHaveLength(1);
    } finally {
      a.signal('SIGCONT');
      await release();
    }
  }, 120_000);
});

describe('one instance at the door', () => {
  it('appends with the right expectedRevision, and answers CONFLICT to a stale one without appending', async () => {
    const one = [await primary()];
    const created = await accepted(one, 0, 'createRoom', { name: 'revisions', commandId: 'rev-room' }, 'rex');
    const roomId = created.roomId;
    expect(created.receipt.revision).toBe(1);

    const sent = await accepted(one, 0, 'sendMessage', { roomId, body: 'at 1', key: 'rev-1', expectedRevision: 1 }, 'rex');
    expect(sent.receipt).toMatchObject({ revision: 2, duplicate: false });

    const size = await roomEventCount();
    const stale = await command(one, 0, 'sendMessage', { roomId, body: 'stale', key: 'rev-stale', expectedRevision: 1 }, 'rex');
    expect(stale.result).toMatchObject({ __typename: 'CommandError', code: 'CONFLICT', currentRevision: 2 });
    const staleJoin = await command(one, 0, 'joinRoom', { roomId, commandId: 'rev-join', expectedRevision: 1 }, 'ria');
    expect(staleJoin.result).toMatchObject({ __typename: 'CommandError', code: 'CONFLICT', currentRevision: 2 });
    expect(await roomEventCount()).toBe(size);

    const joined = await accepted(one, 0, 'joinRoom', { roomId, commandId: 'rev-join-2', expectedRevision: 2 }, 'ria');
    expect(joined.receipt.revision).toBe(3);
    const after = await accepted(one, 0, 'sendMessage', { roomId, body: 'at 3', key: 'rev-3', expectedRevision: 3 }, 'ria');
    expect(after.receipt.revision).toBe(4);

    const events = expectCleanRooms(await readRoomLog(stack.config), [roomId]).get(roomId)!;
    expect(events.map((e) => [e.event.revision, e.event.commandId])).toEqual([
      [1, 'rev-room'],
      [2, 'rev-1'],
      [3, 'rev-join-2'],
      [4, 'rev-3'],
    ]);
  });

  it('refuses malformed text and identifiers with INVALID_INPUT and appends nothing', async () => {
    const one = [await primary()];
    const roomId = (await accepted(one, 0, 'createRoom', { name: 'door', commandId: 'door-room' }, 'dora')).roomId;
    const send = (body: string, key: string, user = 'dora') => command(one, 0, 'sendMessage', { roomId, body, key }, user);
    // JSON.stringify escapes a lone surrogate as \ud800, so the server really receives one.
    expect(JSON.stringify({ body: 'x\ud800y' })).toContain('\\ud800');

    const size = await roomEventCount();
    const refused: [string, Promise<Retried>][] = [
      ['NUL in a key', send('hello', 'a\u0000b')],
      ['lone surrogate in a body', send('x\ud800y', 'door-1')],
      ['lone surrogate in a room name', command(one, 0, 'createRoom', { name: 'room \udc00', commandId: 'door-2' }, 'dora')],
      ['129-character key', send('hello', 'k'.repeat(129))],
      ['129-character createRoom key', command(one, 0, 'createRoom', { name: 'long key', commandId: 'c'.repeat(129) }, 'dora')],
      ['key of only spaces', send('hello', '   ')],
      ['control character in a key', send('hello', 'a\u0001b')],
      ['control character in a joinRoom key', command(one, 0, 'joinRoom', { roomId, commandId: 'j\u0001' }, 'dan')],
      ['C1 control in a body', send('x\u0085y', 'door-3')],
    ];
    for (const [what, outcome] of refused)
      expect((await outcome).result, what).toMatchObject({ __typename: 'CommandError', code: 'INVALID_INPUT' });

    const hugeToken = await gql(one[0]!.url, SEND, { roomId, body: 'hello', key: 'door-4' }, 'u'.repeat(10 * 1024));
    expect(hugeToken.sendMessage).toMatchObject({ __typename: 'CommandError', code: 'UNAUTHENTICATED' });
    expect(await roomEventCount()).toBe(size);

    // Newline and tab belong in a message; a key of exactly 128 characters is allowed.
    const multiline = await accepted(one, 0, 'sendMessage', { roomId, body: 'line 1\nline 2\tend', key: 'k'.repeat(128) }, 'dora');
    const events = expectCleanRooms(await readRoomLog(stack.config), [roomId]).get(roomId)!;
    expect(events.at(-1)!.event).toMatchObject({
      type: 'MessageSent',
      messageId: multiline.messageId,
      body: 'line 1\nline 2\tend',
      commandId: 'k'.repeat(128),
    });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
