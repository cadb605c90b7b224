import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  ensureBucket,
  LOCAL_OBJECT_STORE_CREDENTIAL,
  probeObjectStore,
  waitFor,
  type ObjectStoreConfig,
  type PlatformConfig,
} from '@chat/platform';
import { CACHE, DATA } from './paths.ts';
import { commandExists, run, startDetached } from './processes.ts';
import { hostPort } from './probes.ts';

// The object store (attachments): S3Proxy from Maven Central, one runnable jar, serving the S3
// API on S3_ENDPOINT's port with its filesystem backend, so objects are plain files under
// .data/objectstore/data and outlive the process (and its container: containers.ts mounts the
// same folder). Its credential is generated here on first start, never committed nor logged.

export const S3PROXY_VERSION = '2.6.0';
export const S3PROXY_HOME = join(CACHE, 's3proxy', S3PROXY_VERSION);
const ARTIFACT = `org.gaul:s3proxy:${S3PROXY_VERSION}:jar:jar-with-dependencies`;
export const OBJECTSTORE_DIR = join(DATA, 'objectstore');
/** Where the store keeps its buckets (one folder each), natively and in a container alike. */
export const OBJECTSTORE_DATA = join(OBJECTSTORE_DIR, 'data');

export function s3proxyJar(): string {
  const jar = existsSync(S3PROXY_HOME) ? readdirSync(S3PROXY_HOME).find((f) => f.endsWith('-jar-with-dependencies.jar')) : undefined;
  if (!jar) throw new Error(`no S3Proxy jar in ${S3PROXY_HOME}`);
  return join(S3PROXY_HOME, jar);
}

export function ensureS3Proxy(): void {
  const marker = join(S3PROXY_HOME, '.complete');
  if (existsSync(marker)) return;
  if (!commandExists('mvn')) throw new Error('Maven (mvn) is needed to fetch S3Proxy');
  if (!commandExists('java')) throw new Error('Java 17+ is needed to run S3Proxy');
  mkdirSync(S3PROXY_HOME, { recursive: true });
  console.log(`objectstore: fetching S3Proxy ${S3PROXY_VERSION} with Maven into ${S3PROXY_HOME}`);
  run('mvn', ['-q', '-B', 'dependency:copy', `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${S3PROXY_HOME}`]);
  s3proxyJar();
  writeFileSync(marker, new Date().toISOString());
}

/**
 * Writes the local store's credential (random, mode 0600) unless it has one, when the
 * environment names no secret of its own: loadConfig reads it from there (platform/src/config.ts).
 */
export function ensureLocalCredential(env: Record<string, string | undefined> = process.env): void {
  if (env.S3_SECRET_ACCESS_KEY || env.S3_SECRET_ACCESS_KEY_FILE || existsSync(LOCAL_OBJECT_STORE_CREDENTIAL)) return;
  mkdirSync(dirname(LOCAL_OBJECT_STORE_CREDENTIAL), { recursive: true, mode: 0o700 });
  try {
    // 'wx': a second infra:up starting beside this one keeps the first one's.
    writeFileSync(LOCAL_OBJECT_STORE_CREDENTIAL, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * How S3Proxy is configured, natively and in a container alike: on loopback at S3_ENDPOINT's
 * port, path-style, AWS signatures v2 or v4 with our identity, files under `dataDir`. Every
 * origin may make CORS requests: browsers PUT and GET with presigned URLs from any local origin,
 * and the signature is what guards them. The credential is not here: it is given on its own.
 * Each setting: [its property, the variable the images take it from (as the official one), value].
 */
function s3proxySettings(store: ObjectStoreConfig, dataDir: string): [string, string, string][] {
  const { port } = hostPort(store.endpoint, 9000);
  return [
    ['s3proxy.endpoint', 'S3PROXY_ENDPOINT', `http://127.0.0.1:${port}`],
    ['s3proxy.authorization', 'S3PROXY_AUTHORIZATION', 'aws-v2-or-v4'],
    ['s3proxy.identity', 'S3PROXY_IDENTITY', store.accessKeyId],
    ['s3proxy.cors-allow-all', 'S3PROXY_CORS_ALLOW_ALL', 'true'],
    // As the official image: requests signed over their whole body are buffered up to this size.
    ['s3proxy.v4-max-non-chunked-request-size', 'S3PROXY_V4_MAX_NON_CHUNKED_REQ_SIZE', String(128 * 1024 * 1024)],
    ['jclouds.provider', 'JCLOUDS_PROVIDER', 'filesystem'],
    ['jclouds.filesystem.basedir', 'JCLOUDS_FILESYSTEM_BASEDIR', dataDir],
  ];
}

/** The settings as the image's variables (infra/docker/images/objectstore), for a container. */
export function s3proxyVariables(store: ObjectStoreConfig, dataDir: string): Record<string, string> {
  return Object.fromEntries(s3proxySettings(store, dataDir).map(([, variable, value]) => [variable, value]));
}

export function startS3Proxy(config: PlatformConfig): void {
  const store = config.objectStore;
  if (!store.secretAccessKey) throw new Error('objectstore: no credential (infra:up writes .data/objectstore/credential first)');
  mkdirSync(OBJECTSTORE_DATA, { recursive: true });
  const settings: [string, string, string][] = [
    ...s3proxySettings(store, OBJECTSTORE_DATA),
    ['s3proxy.credential', '', store.secretAccessKey],
  ];
  const properties = join(OBJECTSTORE_DIR, 's3proxy.properties');
  // It holds the credential: readable by this user only, as the credential file itself.
  rmSync(properties, { force: true }); // a file that exists keeps its mode
  writeFileSync(properties, settings.map(([key, , value]) => `${key}=${value.replaceAll('\\', '\\\\')}\n`).join(''), { mode: 0o600 });
  const started = startDetached('objectstore', 'java', ['-Xms64m', '-Xmx256m', '-jar', s3proxyJar(), '--properties', properties], {
    cwd: OBJECTSTORE_DIR,
  });
  console.log(`objectstore: started S3Proxy ${S3PROXY_VERSION} (pid ${started.pid}, log ${started.log})`);
}

class CredentialRefused extends Error {}

/**
 * Whether a store answers on S3_ENDPOINT. One that answers but refuses our credential is no
 * store to start another beside (its port is taken): that stops infra:up at once, saying what to set.
 */
export async function objectStoreAnswersHere(config: PlatformConfig): Promise<boolean> {
  const probe = await probeObjectStore(config.objectStore);
  if (probe === 'refused') {
    throw new CredentialRefused(
      `an object store answers on ${config.objectStore.endpoint} but refuses the access key ${config.objectStore.accessKeyId} ` +
        'and its secret: set S3_SECRET_ACCESS_KEY (or S3_SECRET_ACCESS_KEY_FILE) to its credential, ' +
        'or move ours with S3_ENDPOINT',
    );
  }
  return probe !== 'down';
}

/** Waits until the store answers, then creates the bucket if it has none. */
export async function waitForObjectStore(config: PlatformConfig, timeoutMs = 60_000): Promise<void> {
  const store = config.objectStore;
  await waitFor(`the object store at ${store.endpoint}`, async () => ((await objectStoreAnswersHere(config)) ? true : undefined), {
    timeoutMs,
    intervalMs: 300,
    giveUpOn: (error) => error instanceof CredentialRefused,
  });
  await ensureBucket(store);
}
