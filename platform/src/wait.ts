/**
 * Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`, or
 * with `signal`'s reason once it is aborted (the thing waited for can no longer happen).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  {
    timeoutMs = 60_000,
    intervalMs = 250,
    signal,
    giveUpOn = () => false,
  }: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal; giveUpOn?: (error: unknown) => boolean } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (giveUpOn(error)) throw error; // waiting would not change it
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `work` until it succeeds, waiting 200 ms longer after each failure (up to 5 s): for
 * work that can only wait an outage out. `keepGoing` is asked before every attempt and after
 * every failure; once it says no, the answer is undefined. `onFailure` hears each failure
 * (to log it, or keep a session alive) before the wait.
 */
export async function retryThroughOutage<T>(
  work: () => Promise<T>,
  { keepGoing = () => true, onFailure }: { keepGoing?: () => boolean; onFailure: (error: unknown, attempt: number) => unknown },
): Promise<T | undefined> {
  for (let attempt = 1; keepGoing(); attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!keepGoing()) return undefined;
      await onFailure(error, attempt);
      await sleep(Math.min(5000, 200 * attempt));
    }
  }
  return undefined;
}
