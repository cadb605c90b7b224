import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startStack, type ServiceName, type Stack } from '@chat/infra';
import { signUp } from '../src/accounts.ts';
import { gql } from '../src/graphql.ts';

// Debian's Prometheus, run here, scrapes every service of a test stack with the job names of
// infra/observability/prometheus.yml: all three targets come up, and a series the dashboard
// plots has data after traffic.

const PROMETHEUS = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';
const JOBS: ServiceName[] = ['command-service', 'projector', 'query-service'];

let stack: Stack;
let prometheus: ChildProcess;
let dir: string;
let api: string;

beforeAll(async () => {
  stack = await startStack('prometheus');
  dir = mkdtempSync(join(tmpdir(), 'chat-prometheus-'));
  const targets = JOBS.map(
    (job) => `  - job_name: ${job}\n    static_configs: [{ targets: ['${new URL(stack.instance(job).internalUrl).host}'] }]`,
  );
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n${targets.join('\n')}\n`);
  const port = await freePort();
  api = `http://127.0.0.1:${port}/api/v1`;
  prometheus = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    {
      stdio: 'ignore',
    },
  );
}, 180_000);

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function get(path: string): Promise<any> {
  return (await (await fetch(`${api}${path}`)).json()).data;
}

describe('Prometheus', () => {
  it('scrapes every service, and has the traffic in the series the dashboard plots', async () => {
    await expect
      .poll(
        async () => {
          const data = await get('/targets').catch(() => undefined);
          return (data?.activeTargets ?? []).map((t: any) => `${t.labels.job}:${t.health}`).sort();
        },
        { timeout: 60_000, interval: 500 },
      )
      .toEqual(JOBS.map((job) => `${job}:up`));
    const alice = await signUp(stack.queryUrl, 'alice');
    const { createRoom } = await gql(
      stack.queryUrl,
      `mutation { createRoom(name: "scraped") { ... on RoomAccepted { roomId } } }`,
      {},
      alice.accessToken,
    );
    await gql(
      stack.queryUrl,
      `mutation($r: ID!) { sendMessage(roomId: $r, body: "seen by Prometheus", clientMessageId: "k") { __typename } }`,
      { r: createRoom.roomId },
      alice.accessToken,
    );
    const value = async (query: string) => Number((await get(`/query?query=${encodeURIComponent(query)}`))?.result?.[0]?.value?.[1] ?? 0);
    await expect.poll(() => value('sum(kafka_records_appended_total)'), { timeout: 30_000, interval: 500 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => value('sum(projector_events_total)'), { timeout: 30_000, interval: 500 }).toBeGreaterThanOrEqual(2);
    await expect
      .poll(() => value('sum(graphql_operations_total{field="sendMessage"})'), { timeout: 30_000, interval: 500 })
      .toBeGreaterThanOrEqual(1);
  }, 120_000);
});
