import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { infraUp, ROOT } from '@chat/infra';
import { intFromEnv } from '@chat/platform';
import { findings } from './history.ts';
import { FAULTS, THREE_NODE_FAULTS, runFaultSuite, type FaultName, type SuiteResult } from './suite.ts';

const PARTS = [
  { nodes: 1, faults: FAULTS as readonly string[] },
  { nodes: 3, faults: THREE_NODE_FAULTS as readonly string[] },
] as const;
const chosen = process.env.FAULTS?.split(',').map((name) => name.trim());
const unknown = (chosen ?? []).filter((name) => !PARTS.some((part) => part.faults.includes(name)));
if (unknown.length > 0) {
  console.error(`unknown faults: ${unknown.join(', ')}; known: ${[...new Set([...FAULTS, ...THREE_NODE_FAULTS])].join(', ')}`);
  process.exit(2);
}

// `./chat test:faults`: the fault suite's full run (every fault, longer, under more load than
// the short run in `./chat test`), judged by the history checker, written to
// docs/reliability.md. Exits 1 when the checker finds anything lost, duplicated or reordered.
//
// Two parts, each on a platform of its own: on one Kafka node, then on three.
//
// Env: FAULT_MS (each fault's length, default 8000), SETTLE_MS (10000), USERS (4), ROOMS (4),
// INTERVAL_MS (200: each user sends to each room about every 200 ms plus the answer's time),
// FAULTS (some of the faults, comma-separated, to look into one: the report then goes to
// .data/reliability-partial.md, leaving docs/reliability.md to full runs), NODES (1 or 3: only
// that part).

const options = {
  users: intFromEnv(process.env, 'USERS', 4),
  rooms: intFromEnv(process.env, 'ROOMS', 4),
  subscribersPerRoom: 2,
  intervalMs: intFromEnv(process.env, 'INTERVAL_MS', 200),
  attemptTimeoutMs: 5000,
  faultMs: intFromEnv(process.env, 'FAULT_MS', 8000),
  settleMs: intFromEnv(process.env, 'SETTLE_MS', 10_000),
  warmUpMs: 5000,
  log: (line: string) => console.log(`${new Date().toISOString()} ${line}`),
};

// Interrupted or crashed, the run still exits through 'exit', where the servers it started
// for itself are stopped (see on-exit.ts); Node's default for these signals skips that.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(1));
process.once('unhandledRejection', (error) => {
  console.error('the fault run failed:', error);
  process.exit(1);
});

await infraUp();
const started = Date.now();
const results: { nodes: 1 | 3; result: SuiteResult }[] = [];
for (const { nodes, faults } of PARTS) {
  if (process.env.NODES && Number(process.env.NODES) !== nodes) continue;
  const mine = (chosen ?? faults).filter((name) => faults.includes(name)) as FaultName[];
  if (mine.length === 0) continue;
  options.log(`part: ${nodes} Kafka node${nodes > 1 ? 's' : ''}, ${mine.length} faults`);
  results.push({ nodes, result: await runFaultSuite({ ...options, faults: mine, kafkaNodes: nodes }) });
}
const partial = Boolean(process.env.FAULTS || process.env.NODES);
const file = partial ? join(ROOT, '.data', 'reliability-partial.md') : join(ROOT, 'docs', 'reliability.md');
// In the repository's own style, so the format check passes on what this writes.
const report = await format(render(results, Date.now() - started), { ...(await resolveConfig(file)), parser: 'markdown' });
writeFileSync(file, report);
console.log(report);
process.exit(results.every(({ result }) => passed(result)) ? 0 : 1);

function passed(result: SuiteResult): boolean {
  return result.verdict.ok && result.log.findings.length === 0;
}

function render(parts: typeof results, durationMs: number): string {
  return `# Reliability: the fault suite's last full run

Written by \`./chat test:faults\` on ${new Date().toISOString().slice(0, 10)} (${Math.round(durationMs / 1000)} s). The short run of the same
suite (its one-node faults, shorter) is part of \`./chat test\` (test/e2e/faults.int.test.ts).

**How it runs.** The three services on stores of the suite's own: Kafka (this project's broker
build and settings; one node, then a second platform on three nodes with every topic replicated
three times and written when two are in sync) and a PostgreSQL server, each service reaching each
through TCP proxies of its own that the suite can cut (all at once, or one service's alone), and
a Redis server it can kill; the schema registry is the shared one, behind a proxy too.
${options.users} users send to ${options.rooms} rooms through the one endpoint, each (user, room) pair one message
at a time about every ${options.intervalMs} ms, retrying an unanswered send with the same \`clientMessageId\`
(5 s per attempt, backoff 100 ms to 1 s) as the web client's outbox does; ${options.subscribersPerRoom} subscribers per room
follow \`messageAdded\` over graphql-ws from the room's start and resume from their last cursor
whenever their socket drops. The nemesis injects each fault for ${options.faultMs / 1000} s, heals it, and waits
${options.settleMs / 1000} s before the next. At the end every room's history is read through the endpoint and
the checker (test/src/faults/history.ts) judges the whole run; then the room topic itself is
read from the start by a read-committed reader with the registry's schemas.

**What is checked.** Every acknowledged message is in history exactly once with its body; every
answered attempt of one send got the same message id; a send refused for good is not stored;
each room is numbered 1, 2, 3… without a gap; a message acknowledged before its sender's next
was sent comes before it; every subscriber's stream, over all its reconnects, equals history
after its starting cursor. A send never answered (all attempts timed out until the end) is
"indeterminate": it may or may not be stored. In the topic: every event id once (no record
appended twice, in one transaction or two), every idempotency key once per room and sender, and
each room's revisions exactly 1..n in one partition (test/src/room-log.ts).

${parts.map(({ nodes, result }) => renderPart(nodes, result)).join('\n')}
## Not covered yet

- The schema registry is cut off, not restarted: the suite shares it with the other tests. Its clients
  see a restart as refused connections rather than unanswered ones.
- Kafka nodes are killed and cut off from the services, not frozen (SIGSTOP) nor cut off from each other
  (they talk directly, not through the suite's proxies).
- A broker coming back with empty storage (another cluster) and a topic made again are not faults to
  recover from but to stop at: test/e2e/cluster-swap.int.test.ts and test/e2e/log-swap.int.test.ts show
  the services stopping, saying so in their readiness, and \`./chat rebuild --new-log\` adopting the new log.
  A topic made again is known by its topic id (test/e2e/topic-remade.int.test.ts, with the new topic
  filled past the old offsets), checked every CLUSTER_CHECK_INTERVAL_MS; and, before every append and
  batch, by its offsets when they are lower than what was read or written.
`;
}

function renderPart(nodes: number, { verdict, log, faults, reconnects, durationMs }: SuiteResult): string {
  const ms = (value: number | null) => (value === null ? 'never' : `${(value / 1000).toFixed(1)} s`);
  const rows = faults.map(
    (f) =>
      `| ${f.name} | ${f.sent} | ${f.acknowledged} | ${f.indeterminate} | ${f.lost} | ${f.duplicated} | ${f.reordered} | ${ms(f.longestSilenceMs)} | ${ms(f.recoveredAfterMs)} |`,
  );
  const problems = findings(verdict);
  return `## On ${nodes} Kafka node${nodes > 1 ? 's' : ''}: ${verdict.ok && log.findings.length === 0 ? 'nothing lost, duplicated or reordered' : 'FAILED'}

(${Math.round(durationMs / 1000)} s.) Sent ${verdict.sent}, acknowledged ${verdict.acknowledged}, indeterminate ${verdict.indeterminate}; lost ${verdict.lost.length},
duplicated ${verdict.duplicated.length}, reordered ${verdict.reordered.length}, stream faults ${verdict.streamFaults.length};
subscribers reconnected ${reconnects} times in all. The topic: ${log.records} records, ${log.findings.length} findings.
${problems.length || log.findings.length ? `\n${[...problems, ...log.findings].map((p) => `- ${p}`).join('\n')}\n` : ''}
A send belongs to the fault during whose window (injection to the end of the settle) it was
first sent. "Longest silence" is the longest time in that window without any acknowledgement;
"recovered after" is from the heal to the first acknowledgement after it.

| fault | sent | acknowledged | indeterminate | lost | duplicated | reordered | longest silence | recovered after |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

`;
}
