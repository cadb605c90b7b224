import pg from 'pg';
import { createKafka, createRedis, quoteIdent, type PlatformConfig } from '@chat/platform';

// What tests and benchmarks leave on the shared servers: each names what it makes `t_<label>_
// <base-36 start time>[_<random>]` (topics and consumer groups `<name>.…`, registry subjects
// `<name>.…`, Redis keys `<name>:…`, Postgres schemas `<name>` and `<name>_rm<n>`). A stack
// removes its own when it stops (stack.ts); `./chat test` sweeps what is older than a day
// before it starts, and after its last test counts what this run left (global-setup.ts).

const NAME = /^(t_[A-Za-z0-9_-]+?_([0-9a-z]{8})(?:_[0-9a-z]{1,4})?)(?=$|[.:]|_rm\d+$)/;

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
}

/** Whether a test name's resources are wanted here (this stack's own, or made before a time). */
export type NameFilter = (test: { name: string; madeAt: number }) => boolean;

export function countOf(leftovers: Leftovers): number {
  return Object.values(leftovers).reduce((sum, list: string[]) => sum + list.length, 0);
}

/** The test resources on the servers `config` names that `wanted` picks. */
export async function findLeftovers(config: PlatformConfig, wanted: NameFilter): Promise<Leftovers> {
  const picks = (resource: string) => {
    const test = testNameOf(resource);
    return test !== undefined && wanted(test);
  };
  const admin = createKafka(config, 'test-leftovers').admin();
  await admin.connect();
  const redis = createRedis(config, 'test-leftovers');
  const db = new pg.Client({ connectionString: config.databaseUrl });
  await db.connect();
  try {
    const topics = (await admin.listTopics()).filter(picks);
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(picks);
    const subjects = ((await (await fetch(`${config.schemaRegistryUrl}/subjects`)).json()) as string[]).filter(picks);
    const redisKeys: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 't_*', 'COUNT', 1000);
      cursor = next;
      redisKeys.push(...keys.filter(picks));
    } while (cursor !== '0');
    const { rows } = await db.query<{ name: string }>("SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 't\\_%'");
    const schemas = rows.map((r) => r.name).filter(picks);
    return { topics, groups, subjects, redisKeys, schemas };
  } finally {
    await admin.disconnect();
    redis.disconnect();
    await db.end();
  }
}

/** Removes the test resources `wanted` picks; answers what it found (and removed). */
export async function removeLeftovers(config: PlatformConfig, wanted: NameFilter): Promise<Leftovers> {
  const found = await findLeftovers(config, wanted);
  const admin = createKafka(config, 'test-leftovers').admin();
  await admin.connect();
  const redis = createRedis(config, 'test-leftovers');
  const db = new pg.Client({ connectionString: config.databaseUrl });
  await db.connect();
  try {
    // Groups first (a group may be deleted only once its members left), then their topics.
    if (found.groups.length) await admin.deleteGroups(found.groups).catch(() => undefined);
    if (found.topics.length) await admin.deleteTopics({ topics: found.topics });
    for (const subject of found.subjects) {
      const url = `${config.schemaRegistryUrl}/subjects/${encodeURIComponent(subject)}`;
      await fetch(url, { method: 'DELETE' });
      await fetch(`${url}?permanent=true`, { method: 'DELETE' });
    }
    for (let i = 0; i < found.redisKeys.length; i += 500) await redis.unlink(...found.redisKeys.slice(i, i + 500));
    for (const schema of found.schemas) await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    return found;
  } finally {
    await admin.disconnect();
    redis.disconnect();
    await db.end();
  }
}
