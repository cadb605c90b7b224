import { performance } from 'node:perf_hooks';
import {
  LocalKeyProvider,
  PgContentKeys,
  contentKey,
  createPgPool,
  intFromEnv,
  loadConfig,
  migrate,
  newKeyMaterial,
  newMasterKeyEntry,
  open,
  quoteIdent,
  seal,
} from '@chat/platform';
import { openContent, sealContent, type EventOf } from '@chat/schemas';

// What crypto-shredding costs: CPU per message to seal (command service) and to open
// (projector, rebuild), and the key tables' size per million messages, against the real
// Postgres.
//
// MESSAGES messages of about BODY bytes by AUTHORS authors in ROOMS rooms are sealed one by one
// as the command service seals them (a data key per author, room and day, a share each from the
// pool), then opened in batches of BATCH as the projector opens them (one read of the key tables
// per batch). CPU is this process's user + system time (process.cpuUsage), beside the wall time
// (which includes the key tables' round trips to Postgres). The AEAD alone (seal + open with a
// key in hand) is measured too. Sizes are pg_total_relation_size of the two tables, scaled to 10^6.
//
// Usage: ./chat bench:sealing   (env: MESSAGES, BODY, AUTHORS, ROOMS, BATCH)

const MESSAGES = intFromEnv(process.env, 'MESSAGES', 50_000);
const BODY = intFromEnv(process.env, 'BODY', 200);
const AUTHORS = intFromEnv(process.env, 'AUTHORS', 100);
const ROOMS = intFromEnv(process.env, 'ROOMS', 100);
const BATCH = intFromEnv(process.env, 'BATCH', 500);

const schema = `t_benchsealing_${Date.now().toString(36)}`;
const config = { ...loadConfig(), pgSchema: schema };
const pool = createPgPool(config, 4);
await migrate(pool, schema, { dir: new URL('../../command-service/migrations/', import.meta.url), ledger: 'command_migrations' });
try {
  const keys = new PgContentKeys(pool, schema, new LocalKeyProvider(newMasterKeyEntry('bench')));
  const authors = Array.from({ length: AUTHORS }, () => crypto.randomUUID());
  const rooms = Array.from({ length: ROOMS }, () => crypto.randomUUID());
  const body = 'x'.repeat(BODY);
  const events: EventOf<'MessageSent'>[] = Array.from({ length: MESSAGES }, (_, i) => ({
    type: 'MessageSent',
    eventId: crypto.randomUUID(),
    occurredAt: Date.now(),
    actorId: authors[i % AUTHORS]!,
    commandId: `c${i}`,
    roomId: rooms[(i * 7) % ROOMS]!,
    revision: i + 2,
    messageId: crypto.randomUUID(),
    body,
    replyTo: null,
    format: 'PLAIN',
    attachments: [],
  }));

  const sealStart = measure();
  const sealed: EventOf<'MessageSent'>[] = [];
  for (const event of events) sealed.push(await sealContent(event, keys));
  const sealCost = sealStart();

  const openStart = measure();
  for (let i = 0; i < sealed.length; i += BATCH) {
    const opened = await openContent(sealed.slice(i, i + BATCH), keys);
    if ((opened[0] as EventOf<'MessageSent'>).body !== body) throw new Error('opened content differs from what was sealed');
  }
  const openCost = openStart();

  // The AEAD and the key derivation alone, a key in hand.
  const [dataKey, share] = [newKeyMaterial(), newKeyMaterial()];
  const plaintext = Buffer.from(JSON.stringify({ body, attachments: [] }));
  const aeadStart = measure();
  for (let i = 0; i < MESSAGES; i++) {
    const key = contentKey(dataKey, share, events[i]!.messageId);
    open(key, seal(key, plaintext, 'MessageSent\u0000e\u0000m'), 'MessageSent\u0000e\u0000m');
  }
  const aeadCost = aeadStart();

  const { rows } = await pool.query<{ table: string; bytes: string; rows: string }>(
    `SELECT t AS table, pg_total_relation_size(format('%I.%I', $1::text, t)) AS bytes,
            (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', $1::text, t), false, true, '')))[1]::text AS rows
       FROM unnest(ARRAY['content_data_keys', 'content_shares']) AS t`,
    [schema],
  );
  const perMillion = (bytes: number) => `${(((bytes / MESSAGES) * 1e6) / 2 ** 20).toFixed(0)} MiB`;
  const report = {
    messages: MESSAGES,
    bodyBytes: BODY,
    sealPerMessage: perMessage(sealCost),
    openPerMessage: perMessage(openCost),
    aeadSealAndOpenPerMessage: perMessage(aeadCost),
    tables: Object.fromEntries(
      rows.map((r) => [r.table, { rows: Number(r.rows), bytes: Number(r.bytes), perMillionMessages: perMillion(Number(r.bytes)) }]),
    ),
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool.end();
}

function measure(): () => { cpuMs: number; wallMs: number } {
  const [cpu, wall] = [process.cpuUsage(), performance.now()];
  return () => {
    const used = process.cpuUsage(cpu);
    return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wall };
  };
}

function perMessage({ cpuMs, wallMs }: { cpuMs: number; wallMs: number }) {
  return { cpuMicros: Math.round(((cpuMs * 1000) / MESSAGES) * 10) / 10, wallMicros: Math.round(((wallMs * 1000) / MESSAGES) * 10) / 10 };
}
