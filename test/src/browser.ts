import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

// Headless Chromium for the web client's tests: Debian's own build (no browser download),
// driven by playwright-core (each launch gets a new, empty profile), with everything that would
// reach out to the internet turned off.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const repo = new URL('../../', import.meta.url).pathname;
// The committed screenshots (docs/screenshots) change only when asked (UPDATE_SCREENSHOTS=1):
// an ordinary run writes its own under .data/, so it leaves the tree as it found it.
export const SCREENSHOTS = join(repo, process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : '.data/screenshots');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: ./chat test installs Debian's chromium package, or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Builds the web client (Vite takes about a second), so the test serves what the tree holds. */
export function buildWebClient(): void {
  // The production build, as ./chat up serves it: vitest sets NODE_ENV=test, which Vite would
  // otherwise follow into React's development build.
  execFileSync('npm', ['run', '--silent', 'build', '-w', '@chat/web'], {
    cwd: repo,
    stdio: 'pipe',
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

export function screenshotDir(): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return SCREENSHOTS;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's WCAG 2 A/AA rules (contrast included) run in the page as it is now. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated over the DevTools protocol, which the page's Content-Security-Policy does not govern
  // (a script tag would be refused, as it should be).
  await page.evaluate(source);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const { violations } = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
}

/**
 * A TCP relay in front of the platform, one per simulated device. `cut()` is the network going
 * away (every open connection dies at once, new ones are refused); `stall()` is a laptop lid
 * closing or a dead Wi-Fi: connections stay open but nothing crosses them, so only the client's
 * own keep-alive can tell. `restore()` brings the network back; connections that were stalled
 * are dead by then, as a NAT that forgot them would answer.
 */
export class CuttableLink {
  private server: Server;
  private sockets = new Set<Socket>();
  private down = false;
  private stalled = false;
  private readonly targetPort: number;
  port = 0;

  constructor(targetPort: number) {
    this.targetPort = targetPort;
    this.server = createServer((client) => {
      if (this.down) return client.destroy();
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.on('data', (chunk) => this.stalled || upstream.write(chunk));
      upstream.on('data', (chunk) => this.stalled || client.write(chunk));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return `http://127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.down = true;
    this.destroyAll();
  }

  stall(): void {
    this.stalled = true;
  }

  restore(): void {
    if (this.stalled) this.destroyAll();
    this.stalled = false;
    this.down = false;
  }

  stop(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}
