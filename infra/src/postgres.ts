import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { waitFor, type PlatformConfig } from '@chat/platform';
import { commandExists, run } from './processes.ts';

// The machine's PostgreSQL: used as it is when it answers, started (or installed) from
// Debian's packages when it does not.

/**
 * Whether a Postgres answers at DATABASE_URL. One that answers but will not let us in (it asks
 * for a password, or has no such role) throws, saying what to change: waiting, or starting
 * another server on the same port, would not help.
 */
export async function postgresAnswers(config: PlatformConfig): Promise<boolean> {
  const client = new pg.Client({ connectionString: maintenanceUrl(config), connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (error) {
    if (refusesUs(error)) throw new PostgresRefusal(refusalAdvice(config, error as Error));
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A Postgres that answers and will not let us in. */
export class PostgresRefusal extends Error {}

/** Refused by the server itself (class 28: authentication; no such database), or asked for a password we have not got. */
function refusesUs(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (code.startsWith('28') || code === '3D000')) return true;
  return typeof message === 'string' && /client password must be a string|password authentication/.test(message);
}

function refusalAdvice(config: PlatformConfig, error: Error): string {
  const url = new URL(config.databaseUrl);
  const user = decodeURIComponent(url.username) || 'postgres';
  return (
    `Postgres at ${url.host} answers but refuses the connection as ${user}: ${error.message}. ` +
    `./chat connects as DATABASE_URL says (${redact(config.databaseUrl)}), without a password unless it gives one: ` +
    `either let that role in from 127.0.0.1 (a first line \`host all all 127.0.0.1/32 trust\` in pg_hba.conf, then reload Postgres), ` +
    `or set DATABASE_URL to a role and password it accepts (postgres://user:password@host:port/chat).`
  );
}

export function startLocalPostgres(): void {
  if (!existsSync('/etc/postgresql') && !commandExists('pg_ctlcluster')) {
    console.log('postgres: not installed; installing PostgreSQL from Debian packages');
    run('apt-get', ['update', '-q'], { stdio: 'inherit' });
    run('apt-get', ['install', '-y', '-q', 'postgresql'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    trustLoopback();
  }
  for (const version of readdirSync('/etc/postgresql')) {
    console.log(`postgres: starting cluster ${version}/main`);
    run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  }
}

/**
 * A fresh Debian install asks for passwords on 127.0.0.1; the local development stack uses
 * trust on loopback, as the machines this project runs on are set up.
 */
function trustLoopback(): void {
  for (const version of readdirSync('/etc/postgresql')) {
    const hba = `/etc/postgresql/${version}/main/pg_hba.conf`;
    run('sh', ['-c', `sed -i '1i host all all 127.0.0.1/32 trust\\nhost all all ::1/128 trust' ${hba}`]);
  }
}

export async function waitForPostgres(config: PlatformConfig, timeoutMs = 60_000): Promise<void> {
  await waitFor(`Postgres at ${redact(config.databaseUrl)}`, async () => ((await postgresAnswers(config)) ? true : undefined), {
    timeoutMs,
    giveUpOn: (error) => error instanceof PostgresRefusal,
  });
}

/** Creates the read-model database and the registry's database when missing. */
export async function ensureDatabases(config: PlatformConfig): Promise<void> {
  const wanted = [databaseName(config), 'apicurio'];
  const client = new pg.Client({ connectionString: maintenanceUrl(config) });
  await client.connect();
  try {
    for (const name of wanted) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount === 0) {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`).catch((error: { code?: string }) => {
          if (error.code !== '42P04') throw error; // created concurrently by another launcher
        });
        console.log(`postgres: created database ${name}`);
      }
    }
  } finally {
    await client.end();
  }
}

function databaseName(config: PlatformConfig): string {
  return decodeURIComponent(new URL(config.databaseUrl).pathname.slice(1)) || 'chat';
}

/** The same server and credentials, but the always-present `postgres` database. */
function maintenanceUrl(config: PlatformConfig): string {
  const url = new URL(config.databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

export function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
