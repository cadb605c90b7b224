import { buildLocalImages, compose, composeUpAndWait, dockerEngineAnswers, freePort, type ComposeProject } from '@chat/infra';
import { waitFor } from '@chat/platform';

// A whole compose project for a Docker test: local images, its own project name and host
// ports (so it runs beside the native infrastructure), and a teardown that removes it all.

export interface ComposeStack extends ComposeProject {
  /** Host port of each *_HOST_PORT variable given. */
  ports: Record<string, number>;
  up(services: string[]): Promise<void>;
  /** SIGKILL: the container dies at once, as a crashed host would. */
  kill(services: string[]): void;
  /** The last `tail` lines of each service's log, for a failure's message. */
  logs(tail?: number): string;
  down(): void;
}

export async function composeStack(file: string, project: string, portVariables: string[]): Promise<ComposeStack> {
  if (!dockerEngineAnswers()) throw new Error('no Docker engine answers: start dockerd (./chat test:docker does)');
  const images = buildLocalImages();
  const ports: Record<string, number> = {};
  for (const variable of portVariables) ports[variable] = await freePort();
  const env = { ...images, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
  const target: ComposeProject = { file, project, env };
  compose(['down', '-v', '--remove-orphans'], target);
  return {
    ...target,
    ports,
    up: async (services) => {
      compose(['build', ...services.filter((s) => /service|projector|init/.test(s))], target, true);
      await composeUpAndWait(services, target, 600_000);
    },
    kill: (services) => void compose(['kill', '-s', 'SIGKILL', ...services], target),
    logs: (tail = 30) => compose(['logs', '--no-color', '--tail', String(tail)], target),
    // CHAT_KEEP_STACK=1 leaves the project running after the test, to look at its containers.
    down: () => void (process.env.CHAT_KEEP_STACK === '1' || compose(['down', '-v', '--remove-orphans'], target)),
  };
}

/** Waits until every URL's /readyz answers 200. */
export async function waitReady(baseUrls: string[], timeoutMs = 180_000): Promise<void> {
  for (const base of baseUrls) {
    await waitFor(`${base}/readyz`, async () => ((await fetch(`${base}/readyz`).catch(() => undefined))?.ok ? true : undefined), {
      timeoutMs,
      intervalMs: 1000,
    });
  }
}
