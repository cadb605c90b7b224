import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { CONTAINER_SPECS, freePort, startContainer } from '@chat/infra';
import { createKafka, loadConfig, waitFor } from '@chat/platform';

// infra:up's container path (a Docker engine, the local images) keeps a store's data on the
// host, bind-mounted: a container removed and started again (infra:down, then infra:up) finds
// Kafka's log, with its cluster id, and Postgres' tables where it left them.

const dataRoot = mkdtempSync(join(tmpdir(), 'chat-container-data-'));
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));

describe("a store's container", () => {
  it('Kafka: a topic, its records and the cluster id outlive the container', async () => {
    const config = { ...loadConfig(), kafkaBrokers: [`127.0.0.1:${await freePort()}`] };
    const spec = CONTAINER_SPECS.kafka!(config, dataRoot);
    const kafka = createKafka(config, 'container-data-test');
    const clusterOf = async () => {
      const admin = kafka.admin();
      return waitFor(
        'the Kafka container',
        async () => {
          await admin.connect();
          return (await admin.describeCluster()).clusterId;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      ).finally(() => admin.disconnect());
    };

    let container = await startContainer('kafka-data-test', spec);
    const clusterId = await clusterOf();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kept', messages: [{ value: 'still here' }] });
    await producer.disconnect();
    await container.stop();

    container = await startContainer('kafka-data-test', spec);
    try {
      expect(await clusterOf()).toBe(clusterId);
      const again = kafka.admin();
      await again.connect();
      const offsets = await again.fetchTopicOffsets('kept');
      await again.disconnect();
      expect(offsets.map((p) => p.high)).toEqual(['1']);
    } finally {
      await container.stop();
    }
  }, 300_000);

  it('Postgres: a table and its rows outlive the container', async () => {
    const port = await freePort();
    const config = { ...loadConfig(), databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres` };
    const spec = CONTAINER_SPECS.postgres!(config, dataRoot);
    const query = (sql: string) =>
      waitFor(
        'the Postgres container',
        async () => {
          const client = new pg.Client({ connectionString: config.databaseUrl });
          client.on('error', () => undefined);
          try {
            await client.connect();
            const result: pg.QueryResult | pg.QueryResult[] = await client.query(sql);
            return Array.isArray(result) ? [] : result.rows; // several statements: done
          } finally {
            await client.end().catch(() => undefined);
          }
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );

    let container = await startContainer('postgres-data-test', spec);
    await query("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')");
    await container.stop();
    container = await startContainer('postgres-data-test', spec);
    try {
      expect(await query('SELECT note FROM kept')).toEqual([{ note: 'still here' }]);
    } finally {
      await container.stop();
    }
  }, 300_000);
});
