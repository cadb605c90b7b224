import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, type PlatformConfig } from '@chat/platform';
import { CACHE } from './paths.ts';
import { commandExists, run, startDetached } from './processes.ts';

// Apicurio Registry 3.x from Maven Central, serving the Confluent-compatible API at
// /apis/ccompat/v7. Its storage is SQL on the same Postgres, so registered schemas (and so
// the ids inside every event) survive a restart.

export const APICURIO_VERSION = '3.0.9';
export const APICURIO_HOME = join(CACHE, 'apicurio', APICURIO_VERSION);
const ARTIFACT = `io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`;

export function ensureApicurio(): void {
  const marker = join(APICURIO_HOME, '.complete');
  if (existsSync(marker)) return;
  if (!commandExists('mvn')) throw new Error('Maven (mvn) is needed to fetch Apicurio Registry');
  mkdirSync(APICURIO_HOME, { recursive: true });
  console.log(`registry: fetching Apicurio Registry ${APICURIO_VERSION} with Maven into ${APICURIO_HOME}`);
  run('mvn', ['-q', '-B', 'dependency:copy', `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${APICURIO_HOME}`]);
  const archive = readdirSync(APICURIO_HOME).find((f) => f.endsWith('.tar.gz'));
  if (!archive) throw new Error(`Apicurio archive missing in ${APICURIO_HOME}`);
  run('tar', ['xzf', join(APICURIO_HOME, archive), '-C', APICURIO_HOME]);
  runnerJar();
  writeFileSync(marker, new Date().toISOString());
}

/** The 3.0 line ships a legacy runner jar with lib/ beside it; later lines, quarkus-run.jar. */
function runnerJar(): string {
  const jar = readdirSync(APICURIO_HOME).find((f) => f === 'quarkus-run.jar' || f.endsWith('-runner.jar'));
  if (!jar) throw new Error(`no runnable Apicurio jar in ${APICURIO_HOME}`);
  return jar;
}

/** The JDBC URL of the registry's own database, on the server of DATABASE_URL. */
function registryJdbcUrl(config: PlatformConfig): { url: string; user: string; password: string } {
  const db = new URL(config.databaseUrl);
  return {
    url: `jdbc:postgresql://${db.hostname}:${db.port || '5432'}/apicurio`,
    user: decodeURIComponent(db.username || 'postgres'),
    password: decodeURIComponent(db.password),
  };
}

/** How the registry is configured, natively and in a container alike: on loopback, storage in DATABASE_URL's server. */
export function registryEnv(config: PlatformConfig): Record<string, string> {
  const jdbc = registryJdbcUrl(config);
  return {
    QUARKUS_HTTP_HOST: '127.0.0.1',
    QUARKUS_HTTP_PORT: new URL(config.schemaRegistryUrl).port || '8081',
    APICURIO_STORAGE_KIND: 'sql',
    APICURIO_STORAGE_SQL_KIND: 'postgresql',
    APICURIO_DATASOURCE_URL: jdbc.url,
    APICURIO_DATASOURCE_USERNAME: jdbc.user,
    APICURIO_DATASOURCE_PASSWORD: jdbc.password,
    // The default pool (20..100 connections) would use most of a stock Postgres.
    APICURIO_DATASOURCE_JDBC_INITIAL_SIZE: '2',
    APICURIO_DATASOURCE_JDBC_MIN_SIZE: '2',
    APICURIO_DATASOURCE_JDBC_MAX_SIZE: '10',
  };
}

export function startApicurio(config: PlatformConfig): void {
  const started = startDetached('registry', 'java', ['-Xms128m', '-Xmx512m', '-jar', runnerJar()], {
    cwd: APICURIO_HOME,
    env: registryEnv(config),
  });
  console.log(`registry: started Apicurio Registry ${APICURIO_VERSION} (pid ${started.pid}, log ${started.log})`);
}

export async function registryAnswers(config: PlatformConfig): Promise<boolean> {
  try {
    // The global compatibility setting: constant work. Listing /subjects grows with every
    // subject ever registered, and past a thousand took longer than this probe waits, so a
    // registry that was up looked down and a second one was started on its port.
    const response = await fetch(`${config.schemaRegistryUrl}/config`, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false;
  }
}

export async function waitForRegistry(config: PlatformConfig, timeoutMs = 180_000): Promise<void> {
  await waitFor(`the schema registry at ${config.schemaRegistryUrl}`, async () => ((await registryAnswers(config)) ? true : undefined), {
    timeoutMs,
    intervalMs: 500,
  });
}
