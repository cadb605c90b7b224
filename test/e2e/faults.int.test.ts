import { describe, expect, it } from 'vitest';
import { findings } from '../src/faults/history.ts';
import { FAULTS, runFaultSuite } from '../src/faults/suite.ts';

// The fault suite's short run: every fault once, briefly, under a small workload through the
// one endpoint, judged by the history checker. `./chat test:faults` runs it longer and heavier
// and writes docs/reliability.md.

describe('under every fault, one at a time', () => {
  it('loses, duplicates and reorders nothing acknowledged, and every subscriber sees history exactly', async () => {
    const result = await runFaultSuite({
      users: 3,
      rooms: 3,
      subscribersPerRoom: 2,
      intervalMs: 300,
      attemptTimeoutMs: 5000,
      faults: FAULTS,
      faultMs: 4000,
      settleMs: 5000,
      warmUpMs: 3000,
      log: (line) => console.log(line),
    });
    console.log(JSON.stringify(result.faults, null, 1));
    expect(findings(result.verdict)).toEqual([]);
    // The log itself, as any strict reader sees it: each event once, each room numbered 1..n.
    expect(result.log.findings).toEqual([]);
    expect(result.log.records).toBeGreaterThan(result.verdict.acknowledged);
    expect(result.verdict.acknowledged).toBeGreaterThan(0);
    // After each fault's heal the platform acknowledged sends again. (Not necessarily within its
    // own window: on a loaded box a broker's restart outlasts the settle, and a window can start
    // no send at all while every sender is still retrying one from before.)
    for (const fault of result.faults) expect(fault.recoveredAfterMs, fault.name).not.toBeNull();
  }, 900_000);
});
