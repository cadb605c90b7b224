import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import {
  ContentIntegrityError,
  LocalKeyProvider,
  PgContentKeys,
  createPgPool,
  loadConfig,
  migrate,
  newMasterKeyEntry,
  quoteIdent,
} from '@chat/platform';
import { openContent, sealContent, type EventOf } from '@chat/schemas';

// The content key store against the real Postgres: what the command side seals, a reader with
// the same master keys opens, however many instances made the keys; an erased share opens as
// erased; a wrong or missing master key, a missing key row or altered ciphertext is an integrity
// fault (never garbage text); and a rotation of the master key keeps old messages readable.

const schema = `t_contentkeys_${Date.now().toString(36)}`;
const config = { ...loadConfig(), pgSchema: schema };
let pool: pg.Pool;

const [K1, K2] = [newMasterKeyEntry('k1'), newMasterKeyEntry('k2')];
const keysWith = (spec: string) => new PgContentKeys(pool, schema, new LocalKeyProvider(spec));

beforeAll(async () => {
  pool = createPgPool(config, 4);
  await migrate(pool, schema, { dir: new URL('../migrations/', import.meta.url), ledger: 'command_migrations' });
});

afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await pool.end();
});

const alice = crypto.randomUUID();
const room = crypto.randomUUID();
const DAY = 86_400_000;

function sent(body: string, occurredAt = Date.now()): EventOf<'MessageSent'> {
  return {
    type: 'MessageSent',
    eventId: crypto.randomUUID(),
    occurredAt,
    actorId: alice,
    commandId: crypto.randomUUID(),
    roomId: room,
    revision: 2,
    messageId: crypto.randomUUID(),
    body,
    replyTo: null,
    format: 'PLAIN',
    attachments: [{ attachmentId: crypto.randomUUID(), name: 'plan.pdf', contentType: 'application/pdf', size: 1234, image: null }],
  };
}

type Sealed = EventOf<'MessageSent'> & { sealed: { dataKeyId: string; shareId: string; ciphertext: Buffer } };

async function sealed(keys: PgContentKeys, event: EventOf<'MessageSent'>): Promise<Sealed> {
  return (await sealContent(event, keys)) as Sealed;
}

describe('content keys in Postgres', () => {
  it('seals body and attachments for the log and opens them again, with one data key per author, room and day', async () => {
    const writer = keysWith(K1);
    const [a, b, nextDay] = [sent('first 🌱'), sent('second'), sent('tomorrow', Date.now() + DAY)];
    const events = [await sealed(writer, a), await sealed(writer, b), await sealed(writer, nextDay)];
    for (const [i, event] of events.entries()) {
      expect(event).toMatchObject({ body: '', attachments: [] });
      expect(event.sealed.ciphertext.includes(Buffer.from([a, b, nextDay][i]!.body))).toBe(false);
    }
    expect(events[0]!.sealed.dataKeyId).toBe(events[1]!.sealed.dataKeyId);
    expect(events[2]!.sealed.dataKeyId).not.toBe(events[0]!.sealed.dataKeyId);
    expect(new Set(events.map((e) => e.sealed.shareId)).size).toBe(3);

    // Another instance (a projector), with the same master keys and nothing cached.
    const opened = await openContent(events, keysWith(K1));
    expect(opened.map((e) => (e as EventOf<'MessageSent'>).body)).toEqual(['first 🌱', 'second', 'tomorrow']);
    expect((opened[0] as EventOf<'MessageSent'>).attachments).toEqual(a.attachments);
  });

  it('shares one data key between two instances that make it at once', async () => {
    const other = crypto.randomUUID();
    const event = { ...sent('race'), actorId: other };
    const [x, y] = await Promise.all([sealed(keysWith(K1), event), sealed(keysWith(K1), { ...event, eventId: crypto.randomUUID() })]);
    expect(x.sealed.dataKeyId).toBe(y.sealed.dataKeyId);
    expect((await openContent([x, y], keysWith(K1))).map((e) => (e as EventOf<'MessageSent'>).body)).toEqual(['race', 'race']);
  });

  it('opens content whose share or data key was erased as erased: an empty body without attachments', async () => {
    const writer = keysWith(K1);
    const [byShare, byDay, kept] = [
      await sealed(writer, sent('gone')),
      await sealed(writer, sent('gone too', Date.now() - 3 * DAY)),
      await sealed(writer, sent('kept')),
    ];
    await pool.query(`UPDATE ${writer.shares} SET share = NULL, erased_at = now() WHERE share_id = $1`, [byShare.sealed.shareId]);
    await pool.query(`UPDATE ${writer.dataKeys} SET wrapped = NULL, erased_at = now() WHERE data_key_id = $1`, [byDay.sealed.dataKeyId]);
    const opened = (await openContent([byShare, byDay, kept], keysWith(K1))) as EventOf<'MessageSent'>[];
    expect(opened.map((e) => [e.body, e.attachments.length])).toEqual([
      ['', 0],
      ['', 0],
      ['kept', 1],
    ]);
  });

  it('fails loudly, as an integrity fault, on a wrong or missing master key, a missing key row, or altered bytes', async () => {
    const event = await sealed(keysWith(K1), sent('secret'));
    const wrongKey = newMasterKeyEntry('k1'); // the same id, other key material
    await expect(openContent([event], keysWith(wrongKey))).rejects.toThrow(ContentIntegrityError);
    await expect(openContent([event], keysWith(K2))).rejects.toThrow(/master key 'k1'.*does not hold/);
    await expect(keysWith(wrongKey).verify()).rejects.toThrow(ContentIntegrityError);

    const altered = structuredClone(event);
    altered.sealed.ciphertext[altered.sealed.ciphertext.length - 1]! ^= 1;
    await expect(openContent([altered], keysWith(K1))).rejects.toThrow(ContentIntegrityError);
    // Moved to another event: the associated data names the event, so it does not open there.
    await expect(openContent([{ ...event, eventId: crypto.randomUUID() }], keysWith(K1))).rejects.toThrow(ContentIntegrityError);

    await pool.query(`DELETE FROM ${keysWith(K1).shares} WHERE share_id = $1`, [event.sealed.shareId]);
    await expect(openContent([event], keysWith(K1))).rejects.toThrow(/not in .*content_shares: lost/);
  });

  it('rotates the master key: every data key rewrapped under the new one, old messages still readable, the old key no longer needed', async () => {
    const before = await sealed(keysWith(K1), sent('before rotation', Date.now() - 5 * DAY));
    const rotating = keysWith(`${K2},${K1}`);
    expect(await rotating.rotate(2)).toBeGreaterThan(0);
    expect(await rotating.rotate()).toBe(0);
    const { rows } = await pool.query(`SELECT DISTINCT master_key_id FROM ${rotating.dataKeys} WHERE wrapped IS NOT NULL`);
    expect(rows).toEqual([{ master_key_id: 'k2' }]);
    // Erased keys stay erased through a rotation.
    const { rows: erased } = await pool.query(`SELECT count(*)::int AS n FROM ${rotating.dataKeys} WHERE wrapped IS NULL`);
    expect(erased[0].n).toBe(1);

    const newOnly = keysWith(K2);
    await newOnly.verify();
    expect(((await openContent([before], newOnly))[0] as EventOf<'MessageSent'>).body).toBe('before rotation');
    const after = await sealed(newOnly, sent('after rotation'));
    expect(((await openContent([after], keysWith(K2)))[0] as EventOf<'MessageSent'>).body).toBe('after rotation');
    await expect(openContent([before], keysWith(K1))).rejects.toThrow(ContentIntegrityError);
  });

  it('seals what an erased author sends after the erasure under a key nobody keeps: it opens as erased, and sealing never fails', async () => {
    const writer = keysWith(K1);
    const erin = crypto.randomUUID();
    const by = (event: EventOf<'MessageSent'>) => ({ ...event, actorId: erin });
    const before = await sealed(writer, by(sent('before')));
    await writer.eraseUser(erin, Date.now());
    // Today's key was cached, and a new day has none yet: both seal, neither is readable.
    const [cachedDay, newDay] = [await sealed(writer, by(sent('racing'))), await sealed(writer, by(sent('tomorrow', Date.now() + DAY)))];
    const opened = (await openContent([before, cachedDay, newDay], keysWith(K1))) as EventOf<'MessageSent'>[];
    expect(opened.map((e) => e.body)).toEqual(['', '', '']);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${writer.dataKeys} WHERE user_id = $1 AND wrapped IS NOT NULL`, [
      erin,
    ]);
    expect(rows[0].n).toBe(0);
  });
});
