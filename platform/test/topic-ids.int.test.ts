import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { createKafka, fetchTopicIds, loadConfig, waitFor } from '@chat/platform';

// Against the real broker: topic ids (KIP-516) read with Metadata v10 (patched into kafkajs),
// as Kafka's own tools print them, stable for a topic and new for a topic recreated under the
// same name.

const config = loadConfig();
const topic = `topic-ids-${crypto.randomUUID()}`;
/** Uuid.toString: 16 bytes in URL-safe base64 without padding. */
const TOPIC_ID = /^[A-Za-z0-9_-]{22}$/;
let admin: Admin;

/**
 * The jars of the native broker (infra/src/kafka.ts resolves them into .cache/kafka/<version>/libs),
 * which hold Kafka's admin tools, and a `java` to run them; absent when Kafka runs in a container.
 */
const KAFKA_CACHE = fileURLToPath(new URL('../../.cache/kafka/', import.meta.url));
const kafkaLibs = existsSync(KAFKA_CACHE)
  ? readdirSync(KAFKA_CACHE)
      .map((version) => join(KAFKA_CACHE, version, 'libs'))
      .find((libs) => existsSync(join(libs, '.complete')))
  : undefined;
const kafkaTools = kafkaLibs !== undefined && spawnSync('java', ['-version']).status === 0;

/** What `kafka-topics.sh --describe` prints as the topic's id. */
async function describedTopicId(name: string): Promise<string | undefined> {
  const { stdout } = await promisify(execFile)(
    'java',
    [
      '-Dlog4j2.level=OFF',
      '-cp',
      join(kafkaLibs!, '*'),
      'org.apache.kafka.tools.TopicCommand',
      '--bootstrap-server',
      config.kafkaBrokers[0]!,
      '--describe',
      '--topic',
      name,
    ],
    { timeout: 60_000 },
  );
  return /\bTopicId:\s*(\S+)/.exec(stdout)?.[1];
}

async function createTopic(name: string): Promise<void> {
  // Right after a delete the name can still be taken (TOPIC_ALREADY_EXISTS: createTopics answers false).
  await waitFor(`topic ${name} created`, async () =>
    (await admin.createTopics({ topics: [{ topic: name, numPartitions: 2 }], waitForLeaders: true })) ? true : undefined,
  );
}

beforeAll(async () => {
  admin = createKafka(config, 'test').admin();
  await admin.connect();
  await createTopic(topic);
});

afterAll(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

describe('fetchTopicIds', () => {
  it("reads a topic's id, the same on every call", async () => {
    const first = await fetchTopicIds(admin, [topic]);
    expect([...first.keys()]).toEqual([topic]);
    expect(first.get(topic)).toMatch(TOPIC_ID);
    expect(await fetchTopicIds(admin, [topic])).toEqual(first);
  });

  it.skipIf(!kafkaTools)("is the id Kafka's own kafka-topics --describe prints", async () => {
    const ids = await fetchTopicIds(admin, [topic]);
    expect(await describedTopicId(topic)).toBe(ids.get(topic));
  });

  it('finds a new id once the topic is deleted and created again under the same name', async () => {
    const before = (await fetchTopicIds(admin, [topic])).get(topic);
    await admin.deleteTopics({ topics: [topic] });
    await createTopic(topic);
    const after = (await fetchTopicIds(admin, [topic])).get(topic);
    expect(after).toMatch(TOPIC_ID);
    expect(after).not.toBe(before);
  });

  it('rejects a topic that does not exist, alone or with one that does, without creating it', async () => {
    const missing = `topic-ids-missing-${crypto.randomUUID()}`;
    await expect(fetchTopicIds(admin, [missing])).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    await expect(fetchTopicIds(admin, [topic, missing])).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    expect(await admin.listTopics()).not.toContain(missing);
  });
});
