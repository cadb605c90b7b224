import {
  ReadModelControl,
  bootContentKeys,
  commandArgs,
  connectKafkaAdmin,
  createKafka,
  createLogger,
  createPgPool,
  loadConfig,
} from '@chat/platform';
import { EventCodec } from '@chat/schemas';
import { adoptNewLog, rebuildReadModels, type FoundInLog, type Progress } from './app/rebuild.ts';
import { projectionsFor } from './projections.ts';
import { serveRebuildMetrics } from './rebuild-metrics.ts';

const USAGE = `usage: ./chat rebuild [--rollback | --new-log] [--json]

  ./chat rebuild              rebuild every read model from offset zero into a new schema and switch to it
  ./chat rebuild --rollback   switch back to the schema the last switch left
  ./chat rebuild --new-log    adopt the event log answering now, after a wiped broker, a fail-over or an
                              event topic made again: read models start afresh from it (the old ones are kept as
                              the previous schema); then restart services that still report event-log down
  --json                      the outcome as JSON

Exit 0: switched; 1: refused (row hashes differ) or failed; 64: bad arguments.
Reads the same environment as the services; its progress is on /metrics.`;
// The progress metrics: rebuild-metrics.ts.

const { values } = commandArgs(
  {
    options: {
      rollback: { type: 'boolean', default: false },
      'new-log': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  },
  USAGE,
);
const config = loadConfig();
const log = createLogger('rebuild', process.env.LOG_LEVEL ?? 'warn');
const kafka = createKafka(config, 'rebuild', log);
const { admin, logId } = await connectKafkaAdmin(kafka, config.topicPrefix);
await admin.disconnect();
const control = new ReadModelControl(config);
const codec = new EventCodec(config.schemaRegistryUrl, config.topicPrefix);
// Sealed content is opened as the live projector opens it: erased content reads as erased.
// Each partition batch in hand reads its keys at once (up to 18 at a time): enough connections that they rarely queue.
const keyPool = createPgPool(config, 6);
codec.openWith(await bootContentKeys(keyPool, config, log));
const metrics = await serveRebuildMetrics(log);
const printProgress = progressPrinter();

const deps = {
  kafka,
  config,
  codec,
  control,
  logId,
  projections: projectionsFor(config),
  log,
  onProgress: (p: Progress) => (metrics.record(p), printProgress(p)),
};

try {
  process.exitCode = values['new-log'] ? await adopt() : await rebuild();
} catch (error) {
  console.error(`rebuild: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await control.close();
  await keyPool.end();
  await metrics.close();
}

async function rebuild(): Promise<number> {
  const outcome = await rebuildReadModels(deps, values.rollback ? 'rollback' : 'rebuild');
  if (process.stderr.isTTY) process.stderr.write('\n');
  if (values.json) console.log(JSON.stringify(outcome, null, 2));
  else if (outcome.switched) {
    console.log(
      `switched ${outcome.from} -> ${outcome.to} (generation ${outcome.generation}): ${outcome.events} events in ${outcome.seconds} s, ` +
        `projectors paused ${outcome.pausedMs} ms; row hashes equal in ${Object.keys(outcome.tables).length} tables`,
    );
  } else {
    console.log(`not switched: ${outcome.to} differs from ${outcome.from}`);
    for (const d of outcome.differs)
      console.log(`  ${d.table}: ${d.active.rows} rows (${d.active.hash}) active, ${d.rebuilt.rows} rows (${d.rebuilt.hash}) rebuilt`);
  }
  if (!values.json) {
    const found = describeFoundInLog(outcome.foundInLog);
    if (found) console.log(found);
  }
  return outcome.switched ? 0 : 1;
}

/** Records of the log that cannot be projected, said apart from the rebuild's own outcome. */
function describeFoundInLog({ deadLettered, faults }: FoundInLog): string | undefined {
  if (deadLettered === 0 && faults === 0) return undefined;
  const parts = [
    ...(deadLettered > 0 ? [`${deadLettered} records set aside as dead letters (\`./chat dead-letters list\`)`] : []),
    ...(faults > 0 ? [`${faults} revision faults (the projection_faults table)`] : []),
  ];
  return `met in the log, as the live projectors meet them: ${parts.join(', ')}. They do not fail a rebuild (row hashes decide the switch); README "What is normal" says what each means.`;
}

async function adopt(): Promise<number> {
  const outcome = await adoptNewLog(deps);
  if (values.json) console.log(JSON.stringify(outcome, null, 2));
  else
    console.log(
      `following the log of Kafka cluster ${outcome.adopted} now: the live projectors fill ${outcome.to} (generation ` +
        `${outcome.generation}) from it; ${outcome.from} is kept. Restart any service whose readiness still says event-log down.`,
    );
  return 0;
}

/** A bar on a terminal; otherwise a line every 5 s and at every change of stage. On stderr: stdout is the outcome. */
function progressPrinter(): (progress: Progress) => void {
  let lastLine = 0;
  let lastStage = '';
  return (p) => {
    const share = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
    const left = p.secondsLeft === null ? '' : `, ${Math.ceil(p.secondsLeft)} s left`;
    const rate = p.eventsPerSecond === null ? 'rate not measured yet' : `${p.eventsPerSecond.toLocaleString('en')} events/s${left}`;
    const text = `${p.stage}: ${p.done.toLocaleString('en')} / ${p.total.toLocaleString('en')} events, ${rate}`;
    if (process.stderr.isTTY) {
      const width = 30;
      const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '.');
      process.stderr.write(`\r[${bar}] ${Math.round(share * 100)}% ${text}`.padEnd(process.stderr.columns ?? 120));
    } else if (p.stage !== lastStage || Date.now() - lastLine >= 5000) {
      console.error(text);
      lastLine = Date.now();
    }
    lastStage = p.stage;
  };
}
