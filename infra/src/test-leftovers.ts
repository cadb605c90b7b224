import pg from 'pg';
import type { Admin } from 'kafkajs';
import { createKafka, createRedis, deleteKeys, listKeysUnder, quoteIdent, sleep, type PlatformConfig } from '@chat/platform';

// What tests and benchmarks leave on the shared servers: each names what it makes `t_<label>_
// <base-36 start time>[_<random>]` (topics and consumer groups `<name>.…`, registry subjects
// `<name>.…`, Redis keys `<name>:…`, Postgres schemas `<name>` and `<name>_rm<n>`, object keys
// `<name>/…` in the object store's bucket). A stack removes its own when it stops (stack.ts);
// `./chat test` sweeps what is older than a day before it starts, and after its last test counts
// what this run left (global-setup.ts).

const NAME = /^(t_[A-Za-z0-9_-]+?_([0-9a-z]{8})(?:_[0-9a-z]{1,4})?)(?=$|[.:/]|_rm\d+$)/;

/** The test resource's name (`t_<label>_<time>[_<random>]`) and when it was made, or undefined for anything else. */
export function testNameOf(resource: string): { name: string; madeAt: number } | undefined {
  const match = NAME.exec(resource);
  if (!match) return undefined;
  const madeAt = parseInt(match[2]!, 36);
  return Number.isFinite(madeAt) ? { name: match[1]!, madeAt } : undefined;
}

export interface Leftovers {
  topics: string[];
  groups: string[];
  subjects: string[];
  redisKeys: string[];
  schemas: string[];
  objects: string[];
}

/** Whether a test name's resources are wanted here (this stack's own, or made before a time). */
export type NameFilter = (test: { name: string; madeAt: number }) => boolean;

export function countOf(leftovers: Leftovers): number {
  return Object.values(leftovers).reduce((sum, list: string[]) => sum + list.length, 0);
}

/** One server's part: what it holds of the wanted names, and removing it. */
interface Part {
  find(picks: (resource: string) => boolean): Promise<Partial<Leftovers>>;
  remove(found: Partial<Leftovers>): Promise<void>;
}

/** A member killed without leaving (SIGKILL) holds its group until its session times out: 10 s by default. */
const GROUP_SESSION_PATIENCE_MS = 15_000;
const NON_EMPTY_GROUP = 68;

/** Deletes the groups, waiting out the sessions of members that died without leaving; gives up on other errors. */
async function deleteGroups(admin: Admin, groups: string[]): Promise<void> {
  const deadline = Date.now() + GROUP_SESSION_PATIENCE_MS;
  let left = groups;
  for (;;) {
    const error = await admin.deleteGroups(left).then(
      () => undefined,
      (failure: unknown) => failure as { groups?: { groupId: string; errorCode: number }[] },
    );
    const waiting = error?.groups?.filter((g) => g.errorCode === NON_EMPTY_GROUP).map((g) => g.groupId) ?? [];
    if (waiting.length === 0 || Date.now() > deadline) return;
    left = waiting;
    await sleep(500);
  }
}

function parts(config: PlatformConfig): Part[] {
  const kafka: Part = {
    find: (picks) =>
      withAdmin(config, async (admin) => ({
        topics: (await admin.listTopics()).filter(picks),
        groups: (await admin.listGroups()).groups.map((g) => g.groupId).filter(picks),
      })),
    remove: (found) =>
      withAdmin(config, async (admin) => {
        // Groups first (a group is deleted only once its members left), then their topics.
        if (found.groups?.length) await deleteGroups(admin, found.groups);
        if (found.topics?.length) await admin.deleteTopics({ topics: found.topics });
      }),
  };
  const registry: Part = {
    find: async (picks) => ({ subjects: ((await (await fetch(`${config.schemaRegistryUrl}/subjects`)).json()) as string[]).filter(picks) }),
    remove: async (found) => {
      for (const subject of found.subjects ?? []) {
        const url = `${config.schemaRegistryUrl}/subjects/${encodeURIComponent(subject)}`;
        await fetch(url, { method: 'DELETE' });
        await fetch(`${url}?permanent=true`, { method: 'DELETE' });
      }
    },
  };
  const redis: Part = {
    find: (picks) =>
      withRedis(config, async (client) => {
        const redisKeys: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', 't_*', 'COUNT', 1000);
          cursor = next;
          redisKeys.push(...keys.filter(picks));
        } while (cursor !== '0');
        return { redisKeys };
      }),
    remove: (found) =>
      withRedis(config, async (client) => {
        const keys = found.redisKeys ?? [];
        for (let i = 0; i < keys.length; i += 500) await client.unlink(...keys.slice(i, i + 500));
      }),
  };
  const postgres: Part = {
    find: (picks) =>
      withDb(config, async (db) => {
        const { rows } = await db.query<{ name: string }>("SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 't\\_%'");
        return { schemas: rows.map((r) => r.name).filter(picks) };
      }),
    remove: (found) =>
      withDb(config, async (db) => {
        for (const schema of found.schemas ?? []) await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      }),
  };
  const objects: Part = {
    find: async (picks) => ({ objects: (await listKeysUnder(config.objectStore, 't_')).filter(picks) }),
    remove: (found) => deleteKeys(config.objectStore, found.objects ?? []),
  };
  return [kafka, registry, redis, postgres, objects];
}

/**
 * The test resources on the servers `config` names that `wanted` picks. Each server is asked
 * on its own: one that cannot be reached (a test's own broker, gone) fails only its part, and
 * the error comes after the others answered.
 */
export async function findLeftovers(config: PlatformConfig, wanted: NameFilter): Promise<Leftovers> {
  return (await eachPart(config, wanted, async (part, picks) => part.find(picks))).found;
}

/** Removes the test resources `wanted` picks, server by server; answers what it found. */
export async function removeLeftovers(config: PlatformConfig, wanted: NameFilter): Promise<Leftovers> {
  return (
    await eachPart(config, wanted, async (part, picks) => {
      const found = await part.find(picks);
      await part.remove(found);
      return found;
    })
  ).found;
}

async function eachPart(
  config: PlatformConfig,
  wanted: NameFilter,
  work: (part: Part, picks: (resource: string) => boolean) => Promise<Partial<Leftovers>>,
): Promise<{ found: Leftovers }> {
  const picks = (resource: string) => {
    const test = testNameOf(resource);
    return test !== undefined && wanted(test);
  };
  const found: Leftovers = { topics: [], groups: [], subjects: [], redisKeys: [], schemas: [], objects: [] };
  const results = await Promise.allSettled(parts(config).map((part) => work(part, picks)));
  const errors: unknown[] = [];
  for (const result of results) {
    if (result.status === 'rejected') errors.push(result.reason);
    else Object.assign(found, result.value);
  }
  if (errors.length > 0) {
    throw new Error(`test leftovers: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`, { cause: found });
  }
  return { found };
}

async function withAdmin<T>(config: PlatformConfig, use: (admin: ReturnType<ReturnType<typeof createKafka>['admin']>) => Promise<T>) {
  const admin = createKafka(config, 'test-leftovers').admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

async function withRedis<T>(config: PlatformConfig, use: (redis: ReturnType<typeof createRedis>) => Promise<T>) {
  const redis = createRedis(config, 'test-leftovers');
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

async function withDb<T>(config: PlatformConfig, use: (db: pg.Client) => Promise<T>) {
  const db = new pg.Client({ connectionString: config.databaseUrl });
  await db.connect();
  try {
    return await use(db);
  } finally {
    await db.end();
  }
}
