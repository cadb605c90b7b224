import { graphql } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, createRedis, createLogger, createS3Client, loadConfig, quoteIdent } from '@chat/platform';
import type { DomainEvent } from '@chat/schemas';
import { migrate } from '../../projector/src/adapters/migrate.ts';
import { projectBatch, type DecodedRecord } from '../../projector/src/adapters/pg-projection.ts';
import { applyUserEvents } from '../../projector/src/adapters/pg-users.ts';
import { RoomFanout } from '../src/adapters/fanout.ts';
import { Presence } from '../src/adapters/presence.ts';
import { TypingStore } from '../src/adapters/typing.ts';
import { S3ExportArchive } from '../src/adapters/s3-export-archive.ts';
import { DataExports } from '../src/app/data-export.ts';
import { ReadModels } from '../src/adapters/read-models.ts';
import { createContext } from '../src/graphql/builder.ts';
import { schema } from '../src/graphql/schema.ts';

// A page of history with every author, reply target and reaction costs a small, constant
// number of SQL statements, whatever the page size: every lookup by id goes through a
// DataLoader. The read models are built by the projector's own code from real events in a
// real Postgres; the query runs through the service's real schema with a pool that counts.

const pgSchema = `t_statements_${Date.now().toString(36)}`;
const config = { ...loadConfig(), pgSchema };
const ROOM = crypto.randomUUID();
const USERS = Array.from({ length: 5 }, () => crypto.randomUUID());
const HISTORY = `query($roomId: ID!, $last: Int) { messages(roomId: $roomId, last: $last) { edges { node {
  id body sender { username displayName } replyTo { id body sender { username } } reactions { emoji count me } } } } }`;

class CountingPool extends pg.Pool {
  statements = 0;
  override query(...args: unknown[]): never {
    this.statements++;
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

let setup: pg.Pool;
let counting: CountingPool;

function envelope(i: number, actorId: string) {
  return { eventId: crypto.randomUUID(), occurredAt: 1000 + i, actorId, commandId: `c${i}`, roomId: ROOM };
}

beforeAll(async () => {
  setup = createPgPool(config, 2);
  await migrate(setup, pgSchema);
  const client = await setup.connect();
  try {
    const users: DomainEvent[] = USERS.map((userId, i) => ({
      type: 'UserRegistered',
      eventId: crypto.randomUUID(),
      occurredAt: 1,
      actorId: userId,
      commandId: null,
      userId,
      username: `user${i}`,
      displayName: `User ${i}`,
    }));
    await projectBatch(
      client,
      'users',
      0,
      users.map((event, i) => ({ offset: String(i), event })),
      applyUserEvents,
    );
    const events: DomainEvent[] = [
      { ...envelope(0, USERS[0]!), type: 'RoomCreated', revision: 1, name: 'busy', topic: null, visibility: 'PUBLIC', kind: 'GROUP' },
      ...USERS.slice(1).map((userId, i) => ({
        ...envelope(0, userId),
        type: 'MemberJoined' as const,
        revision: i + 2,
        userId,
        role: 'MEMBER',
      })),
    ];
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const messageId = crypto.randomUUID();
      events.push({
        ...envelope(i, USERS[i % USERS.length]!),
        type: 'MessageSent',
        format: 'PLAIN',
        attachments: [],
        revision: events.length + 1,
        messageId,
        body: `message ${i}`,
        replyTo: i > 0 && i % 3 === 0 ? ids[i - 1]! : null,
      });
      ids.push(messageId);
      for (const [k, emoji] of ['👍', '🎉'].entries()) {
        if ((i + k) % 2 === 0)
          events.push({
            ...envelope(i, USERS[(i + k) % USERS.length]!),
            type: 'ReactionAdded',
            revision: events.length + 1,
            messageId,
            emoji,
          });
      }
    }
    const records: DecodedRecord[] = events.map((event, offset) => ({ offset: String(offset), event }));
    await projectBatch(client, 'rooms', 0, records);
  } finally {
    client.release();
  }
  counting = new CountingPool({ connectionString: config.databaseUrl, max: 2, options: `-c search_path=${quoteIdent(pgSchema)}` });
});

afterAll(async () => {
  await counting?.end();
  await setup.query(`DROP SCHEMA IF EXISTS ${quoteIdent(pgSchema)} CASCADE`);
  await setup.end();
});

async function statementsFor(last: number): Promise<{ statements: number; nodes: any[] }> {
  const redis = createRedis(config);
  try {
    const caller = { userId: USERS[1]!, sessionId: crypto.randomUUID(), expiresAt: Date.now() + 60_000 };
    const readModels = new ReadModels(counting);
    const fanout = new RoomFanout(redis, config.redisPrefix, createLogger('test', 'error'));
    const presence = new Presence(redis, config.redisPrefix, createLogger('test', 'error'));
    const typing = { store: new TypingStore(redis, config.redisPrefix), allow: async () => true };
    const archive = new S3ExportArchive(createS3Client(config.objectStore), config.objectStore.bucket, config.objectPrefix);
    const exports = new DataExports({
      pool: counting,
      redis,
      prefix: config.redisPrefix,
      archive,
      keyPrefix: config.objectPrefix,
      log: createLogger('test', 'error'),
    });
    const context = createContext(
      caller,
      { authorization: undefined, clientAddress: '127.0.0.1' },
      { readModels, fanout, presence, typing, exports },
    );
    counting.statements = 0;
    const result = await graphql({ schema, source: HISTORY, variableValues: { roomId: ROOM, last }, contextValue: context });
    expect(result.errors).toBeUndefined();
    return { statements: counting.statements, nodes: (result.data as any).messages.edges.map((e: any) => e.node) };
  } finally {
    redis.disconnect();
  }
}

describe('SQL statements per page of history', () => {
  it('are a small constant: membership, the page, then one batch each for authors, reply targets (and theirs) and reactions', async () => {
    const fifty = await statementsFor(50);
    expect(fifty.nodes).toHaveLength(50);
    // The page really carries what was asked for.
    expect(fifty.nodes.every((n) => n.sender?.username.startsWith('user'))).toBe(true);
    expect(fifty.nodes.filter((n) => n.replyTo !== null).length).toBeGreaterThan(10);
    expect(fifty.nodes.some((n) => n.reactions.some((r: { me: boolean }) => r.me))).toBe(true);
    console.log(`a page of 50 messages with authors, reply targets and reactions: ${fifty.statements} SQL statements`);
    expect(fifty.statements).toBeLessThanOrEqual(6);
    // And the same number for a page of 5: it does not grow with the page.
    expect((await statementsFor(5)).statements).toBe(fifty.statements);
  });
});
