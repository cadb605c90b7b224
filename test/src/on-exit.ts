import type { ChildProcess } from 'node:child_process';

// Servers a test or the fault CLI starts for itself (Kafka nodes, Redis, PostgreSQL) must not
// outlive it: a run that crashes (an unhandled rejection) or is interrupted left Kafka JVMs
// behind, each holding half a gigabyte and its ports. Their own teardown runs on the normal
// path; this is the last resort, at the process's exit, so it must be synchronous.

const cleanups = new Set<() => void>();
let hooked = false;

/** Runs `cleanup` when the process exits, unless the returned function was called first. */
export function atExit(cleanup: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const run of cleanups) {
        try {
          run();
        } catch {
          // the next one still runs
        }
      }
    });
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** SIGKILLs `child` at exit if it is still running then. */
export function killAtExit(child: ChildProcess): void {
  const forget = atExit(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  child.once('exit', forget);
}
