import type { Server } from 'node:http';
import {
  closeServer,
  intFromEnv,
  rebuildEventsDone,
  rebuildEventsPerSecond,
  rebuildEventsTotal,
  rebuildStage,
  sleep,
  startInternalServer,
  type Logger,
} from '@chat/platform';
import type { Progress } from './app/rebuild.ts';

// A rebuild's progress for Prometheus: the CLI serves /metrics on REBUILD_METRICS_PORT (4004)
// while it runs, and for REBUILD_METRICS_LINGER_MS after, so that a scrape sees the end too.
// A port already taken (a second rebuild waiting for the lock, say) costs the metrics only.

export interface RebuildMetrics {
  record(progress: Progress): void;
  close(): Promise<void>;
}

export async function serveRebuildMetrics(log: Logger, env = process.env): Promise<RebuildMetrics> {
  const port = intFromEnv(env, 'REBUILD_METRICS_PORT', 4004);
  const lingerMs = intFromEnv(env, 'REBUILD_METRICS_LINGER_MS', 0);
  let server: Server | undefined;
  try {
    server = await startInternalServer({ port, host: env.INTERNAL_HOST ?? env.HOST ?? '127.0.0.1' });
  } catch (error) {
    log.warn('rebuild metrics not served', { port, error });
  }
  return {
    record: (p) => {
      rebuildEventsDone.set(p.done);
      rebuildEventsTotal.set(p.total);
      rebuildEventsPerSecond.set(p.eventsPerSecond ?? 0);
      rebuildStage.reset();
      rebuildStage.set({ stage: p.stage }, 1);
    },
    close: async () => {
      if (!server) return;
      if (lingerMs > 0) await sleep(lingerMs);
      await closeServer(server);
    },
  };
}
