import { intFromEnv } from './config.ts';
import type { Logger } from './log.ts';
import { tracing } from './tracing.ts';

/**
 * Runs `close` once on SIGINT/SIGTERM, then exits. A service's main.ts registers its
 * adapters' close calls here so a stop drains in-flight work instead of dropping it.
 */
export function onShutdown(
  log: Logger,
  close: () => Promise<void>,
  timeoutMs = intFromEnv(process.env, 'SHUTDOWN_TIMEOUT_MS', 20_000),
): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log.info('shutting down', { signal });
    // Bounded: an orchestrator waits so long before it kills; better to say why and exit first.
    setTimeout(() => {
      log.error('shutdown did not finish in time; exiting', { timeoutMs });
      process.exit(1);
    }, timeoutMs).unref();
    close()
      // The spans of the last moments, still buffered, go out before the exit (2 s at most).
      .then(() => tracing.flush().catch(() => undefined))
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        log.error('shutdown failed', { error });
        process.exit(1);
      });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
