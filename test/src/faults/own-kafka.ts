import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerJavaArgs, brokerPropertiesTemplate, freePort, newClusterId } from '@chat/infra';
import { createKafka, loadConfig, waitFor } from '@chat/platform';
import { atExit, killAtExit } from '../on-exit.ts';
import { TcpProxy } from './tcp-proxy.ts';

// A Kafka cluster of the test's own (the project's broker build and settings, in a temporary
// folder, on free ports): one node, or three (each a broker and a controller, every topic
// replicated three times and written when two are in sync, as the scale stack runs). The test
// may SIGKILL and restart any node, or cut the network to it.
//
// Clients reach the brokers only through TcpProxies. Each named client (a service, the test
// itself) has a listener of its own on every node, which the node advertises as that client's
// proxy: metadata sends a client back through its own proxies, so one client can be cut off
// while the others carry on. Storage outlives a kill, as a broker's disk does.

const DEFAULT_CLIENT = 'default';

const OVERRIDDEN = [
  'node.id',
  'listeners',
  'advertised.listeners',
  'inter.broker.listener.name',
  'listener.security.protocol.map',
  'controller.quorum.voters',
];

/** Three nodes: what the scale stack's brokers set (docker-compose.scale.yml). */
const REPLICATED = {
  'default.replication.factor': '3',
  'min.insync.replicas': '2',
  'offsets.topic.replication.factor': '3',
  'transaction.state.log.replication.factor': '3',
  'transaction.state.log.min.isr': '2',
  'share.coordinator.state.topic.replication.factor': '3',
  'share.coordinator.state.topic.min.isr': '2',
};

export interface OwnKafkaOptions {
  /** 1 (the default) or 3. */
  nodes?: 1 | 3;
  /** Clients with proxies of their own, besides `default` (what `brokers` names). */
  clients?: readonly string[];
}

interface Node {
  id: number;
  dir: string;
  properties: string;
  process: ChildProcess | undefined;
  /** Per client name: the proxy in front of this node's listener for it. */
  proxies: Map<string, TcpProxy>;
}

export class OwnKafka {
  private readonly dir: string;
  private clusterId = newClusterId();
  private readonly nodes: Node[] = [];
  private forgetAtExit: () => void = () => undefined;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create({ nodes = 1, clients = [] }: OwnKafkaOptions = {}): Promise<OwnKafka> {
    const kafka = new OwnKafka(mkdtempSync(join(tmpdir(), 'chat-own-kafka-')));
    kafka.forgetAtExit = atExit(() => rmSync(kafka.dir, { recursive: true, force: true }));
    const names = [DEFAULT_CLIENT, ...clients];
    const ports = [];
    for (let i = 0; i < nodes; i++) ports.push({ internal: await freePort(), controller: await freePort() });
    const voters = ports.map(({ controller }, i) => `${i + 1}@127.0.0.1:${controller}`).join(',');
    const kept = brokerPropertiesTemplate()
      .split('\n')
      .filter((line) => ![...OVERRIDDEN, ...(nodes > 1 ? Object.keys(REPLICATED) : [])].some((key) => line.startsWith(`${key}=`)));
    for (const [i, { internal, controller }] of ports.entries()) {
      const dir = join(kafka.dir, `node-${i + 1}`);
      mkdirSync(dir, { recursive: true });
      const proxies = new Map<string, TcpProxy>();
      const listeners = [`INTERNAL://127.0.0.1:${internal}`, `CONTROLLER://127.0.0.1:${controller}`];
      const advertised = [`INTERNAL://127.0.0.1:${internal}`];
      for (const [c, name] of names.entries()) {
        const port = await freePort();
        const proxy = await TcpProxy.create(port);
        proxies.set(name, proxy);
        listeners.push(`CLIENT${c}://127.0.0.1:${port}`);
        advertised.push(`CLIENT${c}://127.0.0.1:${proxy.port}`);
      }
      const properties = join(dir, 'server.properties');
      writeFileSync(
        properties,
        [
          ...kept,
          `node.id=${i + 1}`,
          `controller.quorum.voters=${voters}`,
          // Nodes talk to each other directly; clients only through their proxies, which each node advertises.
          `listeners=${listeners.join(',')}`,
          `advertised.listeners=${advertised.join(',')}`,
          'inter.broker.listener.name=INTERNAL',
          `listener.security.protocol.map=CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,${names.map((_, c) => `CLIENT${c}:PLAINTEXT`).join(',')}`,
          ...(nodes > 1 ? Object.entries(REPLICATED).map(([key, value]) => `${key}=${value}`) : []),
          `log.dirs=${join(dir, 'logs')}`,
        ].join('\n'),
      );
      kafka.nodes.push({ id: i + 1, dir, properties, process: undefined, proxies });
    }
    await kafka.start();
    return kafka;
  }

  /** What `client` puts in KAFKA_BROKERS: its proxy to every node. */
  brokersFor(client: string): string {
    return this.nodes.map((node) => `127.0.0.1:${this.proxy(node, client).port}`).join(',');
  }

  /** The default client's KAFKA_BROKERS. */
  get brokers(): string {
    return this.brokersFor(DEFAULT_CLIENT);
  }

  get nodeIds(): number[] {
    return this.nodes.map((node) => node.id);
  }

  /**
   * Starts the given nodes (all when none are named) on their storage (formatted anew, as
   * another cluster, after `wipe`), and waits until each answers metadata with every running
   * node in the cluster.
   */
  async start(...ids: number[]): Promise<void> {
    const starting = this.chosen(ids).filter((node) => !node.process);
    for (const node of starting) {
      const log = openSync(join(node.dir, 'broker.log'), 'a');
      const logDir = join(node.dir, 'logs');
      node.process = spawn('java', brokerJavaArgs(node.properties, logDir, '512m', this.clusterId), { stdio: ['ignore', log, log] });
      killAtExit(node.process);
    }
    const running = this.nodes.filter((node) => node.process).length;
    await Promise.all(
      starting.map(async (node) => {
        const admin = createKafka(
          { ...loadConfig(), kafkaBrokers: [`127.0.0.1:${this.proxy(node, DEFAULT_CLIENT).port}`] },
          'own-kafka',
        ).admin();
        try {
          await waitFor(
            `test Kafka node ${node.id}`,
            async () => {
              await admin.connect();
              return (await admin.describeCluster()).brokers.length >= running ? true : undefined;
            },
            { timeoutMs: 120_000, intervalMs: 500 },
          );
        } finally {
          await admin.disconnect();
        }
      }),
    );
  }

  /** SIGKILLs the given nodes (all when none are named): a crash, no clean shutdown. */
  async kill(...ids: number[]): Promise<void> {
    await Promise.all(
      this.chosen(ids).map(async (node) => {
        const child = node.process;
        node.process = undefined;
        if (!child || child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
  }

  /** Cuts the network between `client` (every client when none is named) and every node. */
  cut(client?: string): void {
    for (const proxy of this.proxiesOf(client)) proxy.cut();
  }

  heal(client?: string): void {
    for (const proxy of this.proxiesOf(client)) proxy.heal();
  }

  /** The node that leads a partition of `topic` now, as the default client's metadata says. */
  async leaderOf(topic: string, partition = 0): Promise<number> {
    const admin = createKafka({ ...loadConfig(), kafkaBrokers: this.brokers.split(',') }, 'own-kafka').admin();
    await admin.connect();
    try {
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      const leader = metadata?.partitions.find((p) => p.partitionId === partition)?.leader;
      if (leader === undefined || leader < 0) throw new Error(`${topic}/${partition} has no leader`);
      return leader;
    } finally {
      await admin.disconnect();
    }
  }

  /** Deletes the stopped cluster's storage: it comes back empty, with a new cluster id, on the same addresses. */
  wipe(): void {
    if (this.nodes.some((node) => node.process)) throw new Error('wipe() needs every node stopped');
    for (const node of this.nodes) rmSync(join(node.dir, 'logs'), { recursive: true, force: true });
    this.clusterId = newClusterId();
  }

  async remove(): Promise<void> {
    await this.kill();
    await Promise.all(this.nodes.flatMap((node) => [...node.proxies.values()].map((proxy) => proxy.close())));
    rmSync(this.dir, { recursive: true, force: true });
    this.forgetAtExit();
  }

  private chosen(ids: number[]): Node[] {
    if (ids.length === 0) return this.nodes;
    return ids.map((id) => {
      const node = this.nodes.find((n) => n.id === id);
      if (!node) throw new Error(`no Kafka node ${id}`);
      return node;
    });
  }

  private proxy(node: Node, client: string): TcpProxy {
    const proxy = node.proxies.get(client);
    if (!proxy) throw new Error(`no Kafka client named ${client}`);
    return proxy;
  }

  private proxiesOf(client: string | undefined): TcpProxy[] {
    return this.nodes.map((node) => (client === undefined ? [...node.proxies.values()] : [this.proxy(node, client)])).flat();
  }
}
