// What /readyz reports: each dependency a service cannot do its job without, by name. A check
// is a state the service already knows (its consumer joined, its partitions restored) or a
// probe of a server (a `SELECT 1`, a PING); one that fails, throws or takes longer than a
// second counts as down. Only "ok" or "down" is said, never a driver's message: the endpoint
// is for load balancers and orchestrators, and anyone who can reach the port.

export type ReadinessCheck = () => boolean | Promise<unknown>;
export type ReadinessChecks = Record<string, ReadinessCheck>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, 'ok' | 'down'>;
}

const CHECK_TIMEOUT_MS = 1000;

export async function checkReadiness(checks: ReadinessChecks, timeoutMs = CHECK_TIMEOUT_MS): Promise<ReadinessReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, 'ok' | 'down']> => [
      name,
      (await passes(check, timeoutMs)) ? 'ok' : 'down',
    ]),
  );
  return { ready: entries.every(([, verdict]) => verdict === 'ok'), checks: Object.fromEntries(entries) };
}

async function passes(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      Promise.resolve().then(check),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    return outcome !== false && outcome !== 'timeout';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
