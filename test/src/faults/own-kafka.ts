import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerJavaArgs, brokerPropertiesTemplate, freePort } from '@chat/infra';
import { createKafka, loadConfig, waitFor } from '@chat/platform';
import { TcpProxy } from './tcp-proxy.ts';

// A Kafka broker of the test's own (the project's broker build and settings, in a temporary
// folder, on free ports), reached by clients only through a TcpProxy: the test may SIGKILL and
// restart it, or cut the network to it, without touching the broker every other test shares.
// Its storage outlives a kill, as a broker's disk does.

const OVERRIDDEN = [
  'listeners',
  'advertised.listeners',
  'inter.broker.listener.name',
  'listener.security.protocol.map',
  'controller.quorum.voters',
];

export class OwnKafka {
  readonly proxy: TcpProxy;
  private readonly dir: string;
  private readonly properties: string;
  private broker: ChildProcess | undefined;

  private constructor(dir: string, proxy: TcpProxy, properties: string) {
    this.dir = dir;
    this.proxy = proxy;
    this.properties = properties;
  }

  static async create(): Promise<OwnKafka> {
    const dir = mkdtempSync(join(tmpdir(), 'chat-own-kafka-'));
    const [internal, external, controller] = [await freePort(), await freePort(), await freePort()];
    const proxy = await TcpProxy.create(external);
    const kept = brokerPropertiesTemplate()
      .split('\n')
      .filter((line) => !OVERRIDDEN.some((key) => line.startsWith(`${key}=`)));
    const properties = join(dir, 'server.properties');
    writeFileSync(
      properties,
      [
        ...kept,
        // Brokers and the controller talk directly; clients only through the proxy, which the broker advertises.
        `listeners=INTERNAL://127.0.0.1:${internal},EXTERNAL://127.0.0.1:${external},CONTROLLER://127.0.0.1:${controller}`,
        `advertised.listeners=INTERNAL://127.0.0.1:${internal},EXTERNAL://127.0.0.1:${proxy.port}`,
        'inter.broker.listener.name=INTERNAL',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT',
        `controller.quorum.voters=1@127.0.0.1:${controller}`,
        `log.dirs=${join(dir, 'logs')}`,
      ].join('\n'),
    );
    const kafka = new OwnKafka(dir, proxy, properties);
    await kafka.start();
    return kafka;
  }

  /** What services and clients put in KAFKA_BROKERS. */
  get brokers(): string {
    return `127.0.0.1:${this.proxy.port}`;
  }

  /** Starts the broker on its storage (formatted anew, as another cluster, after `wipe`) and waits until it serves metadata. */
  async start(): Promise<void> {
    const log = openSync(join(this.dir, 'broker.log'), 'a');
    this.broker = spawn('java', brokerJavaArgs(this.properties, join(this.dir, 'logs'), '512m'), { stdio: ['ignore', log, log] });
    const admin = createKafka({ ...loadConfig(), kafkaBrokers: [this.brokers] }, 'own-kafka').admin();
    try {
      await waitFor(
        'the test Kafka broker',
        async () => {
          await admin.connect();
          return (await admin.describeCluster()).brokers.length > 0 ? true : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
    } finally {
      await admin.disconnect();
    }
  }

  /** SIGKILLs the broker (a crash: no clean shutdown) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.broker;
    this.broker = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Deletes the stopped broker's storage: it comes back empty, with a new cluster id, on the same address. */
  wipe(): void {
    if (this.broker) throw new Error('wipe() needs the broker stopped');
    rmSync(join(this.dir, 'logs'), { recursive: true, force: true });
  }

  async remove(): Promise<void> {
    await this.kill();
    await this.proxy.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
