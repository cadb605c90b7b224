import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { APICURIO_HOME, APICURIO_VERSION, ensureApicurio } from './registry.ts';
import { DATA, INFRA, ROOT } from './paths.ts';
import { commandExists, run } from './processes.ts';
import { KAFKA_POM, kafkaVersion } from './kafka.ts';
import { ensureS3Proxy, s3proxyJar, S3PROXY_VERSION } from './objectstore.ts';

// Local equivalents of the official images docker-compose.yml names, for machines whose Docker
// engine reaches no image registry: a Debian base made with debootstrap and `docker import`,
// then one image per component built on it from infra/docker/images/<name>/Dockerfile, with
// the same configuration surface as the official image (variables, paths, ports).

const WORK = join(DATA, 'docker');
const IMAGES_DIR = join(INFRA, 'docker', 'images');
export const BASE_IMAGE = 'chat-local/debian:bookworm';

/** The compose variable that names each image, and the local image that stands in for it. */
export const LOCAL_IMAGES = {
  KAFKA_IMAGE: `chat-local/kafka:${kafkaVersion()}`,
  REGISTRY_IMAGE: `chat-local/apicurio-registry:${APICURIO_VERSION}`,
  POSTGRES_IMAGE: 'chat-local/postgres:15',
  REDIS_IMAGE: 'chat-local/redis:7',
  OBJECTSTORE_IMAGE: `chat-local/s3proxy:${S3PROXY_VERSION}`,
  PROMETHEUS_IMAGE: 'chat-local/prometheus:debian',
  BALANCER_IMAGE: 'chat-local/nginx:debian',
  NODE_IMAGE: 'chat-local/node:24',
} as const;

export function imageAtHand(image: string): boolean {
  return spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status === 0;
}

/** Builds every local image that is missing (all of them with `rebuild`); returns the variables for compose. */
export function buildLocalImages(options: { rebuild?: boolean } = {}): Record<string, string> {
  const wanted = (image: string) => options.rebuild || !imageAtHand(image);
  if (wanted(BASE_IMAGE)) importDebianBase();
  const builds: [keyof typeof LOCAL_IMAGES, string, (context: string) => void][] = [
    ['KAFKA_IMAGE', 'kafka', kafkaPayload],
    ['REGISTRY_IMAGE', 'registry', registryPayload],
    ['POSTGRES_IMAGE', 'postgres', () => {}],
    ['REDIS_IMAGE', 'redis', () => {}],
    ['OBJECTSTORE_IMAGE', 'objectstore', objectstorePayload],
    ['PROMETHEUS_IMAGE', 'prometheus', () => {}],
    ['BALANCER_IMAGE', 'balancer', () => {}],
    ['NODE_IMAGE', 'node', nodePayload],
  ];
  for (const [variable, name, payload] of builds) {
    const image = LOCAL_IMAGES[variable];
    if (!wanted(image)) continue;
    const context = join(WORK, 'context', name);
    rmSync(context, { recursive: true, force: true });
    cpSync(join(IMAGES_DIR, name), context, { recursive: true });
    payload(context);
    console.log(`docker: building ${image}`);
    run('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${BASE_IMAGE}`, '-t', image, context], { stdio: 'inherit' });
    rmSync(context, { recursive: true, force: true });
  }
  writeComposeEnv();
  return { ...LOCAL_IMAGES };
}

/**
 * `.env` (git-ignored) is read by `docker compose` itself, so after this a plain
 * `docker compose up` picks the local images; delete it to go back to the official ones.
 */
function writeComposeEnv(): void {
  const lines = Object.entries(LOCAL_IMAGES).map(([name, image]) => `${name}=${image}`);
  writeFileSync(
    join(ROOT, '.env'),
    `# Written by ./chat docker:images: the local images stand in for the official ones.\n${lines.join('\n')}\n`,
  );
}

function importDebianBase(): void {
  if (!commandExists('debootstrap')) throw new Error('debootstrap is needed for the local base image (apt-get install debootstrap)');
  const rootfs = join(WORK, 'rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const mirror = debianMirror();
  console.log(`docker: debootstrap of Debian bookworm from the machine's own apt source, into ${rootfs}`);
  run('debootstrap', ['--variant=minbase', '--include=ca-certificates', 'bookworm', rootfs, mirror], { stdio: 'inherit' });
  trustMachineAuthorities(rootfs);
  const tar = spawnSync('sh', ['-c', `tar -C '${rootfs}' -c . | docker import -c 'CMD ["bash"]' - ${BASE_IMAGE}`], { stdio: 'inherit' });
  if (tar.status !== 0) throw new Error(`docker import of ${BASE_IMAGE} failed`);
  rmSync(rootfs, { recursive: true, force: true });
}

/**
 * The certificate authorities this machine adds to Debian's (/usr/local/share/ca-certificates),
 * so that images built here reach what the machine reaches, through the same TLS proxy if any.
 */
function trustMachineAuthorities(rootfs: string): void {
  const local = '/usr/local/share/ca-certificates';
  if (!existsSync(local)) return;
  cpSync(local, join(rootfs, local), { recursive: true });
  run('chroot', [rootfs, 'update-ca-certificates'], { stdio: 'inherit' });
}

/** The Debian mirror this machine's apt already uses (DEBIAN_MIRROR overrides). */
function debianMirror(): string {
  if (process.env.DEBIAN_MIRROR) return process.env.DEBIAN_MIRROR;
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text)?.[1];
    if (uri) return uri;
  }
  throw new Error('no Debian mirror found in /etc/apt: set DEBIAN_MIRROR');
}

/** The broker's jars plus kafka-tools (the health check's kafka-broker-api-versions.sh). */
function kafkaPayload(context: string): void {
  run('mvn', [
    '-q',
    '-B',
    '-f',
    KAFKA_POM,
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${join(context, 'libs')}`,
  ]);
  cpSync(join(INFRA, 'kafka', 'log4j2.properties'), join(context, 'log4j2.properties'));
}

function registryPayload(context: string): void {
  ensureApicurio();
  cpSync(APICURIO_HOME, join(context, 'apicurio'), { recursive: true, filter: (source) => !source.endsWith('.tar.gz') });
}

/** S3Proxy's runnable jar, as the native launcher fetches it. */
function objectstorePayload(context: string): void {
  ensureS3Proxy();
  cpSync(s3proxyJar(), join(context, 's3proxy.jar'));
}

/** The Node 24 binary this project runs on, and the npm that runs with it here. */
function nodePayload(context: string): void {
  cpSync(process.execPath, join(context, 'node'));
  const npmCli = realpathSync(run('sh', ['-c', 'command -v npm']).trim());
  cpSync(dirname(dirname(npmCli)), join(context, 'npm'), { recursive: true });
}
