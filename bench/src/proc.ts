import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

// CPU time and memory of a process from /proc, as the kernel counts them: benchmarks report
// CPU per command from these, never from wall time.

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User + system CPU time of `pid` so far, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Resident memory (VmRSS) and its peak (VmHWM) of `pid`, in MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: Math.round(kib('VmRSS') / 1024), peak: Math.round(kib('VmHWM') / 1024) };
}

/** Who a process on the box counts as, beside the processes a benchmark names by pid. */
function roleOf(comm: string, cmdline: string): string | undefined {
  if (comm === 'postgres') return 'postgres';
  if (comm === 'redis-server') return 'redis';
  // Kafka is the java process that runs kafka.Kafka; the registry (Apicurio) is the other one.
  if (comm === 'java') return cmdline.includes('kafka.Kafka') ? 'kafka' : 'registry';
  return undefined;
}

/** CPU milliseconds so far of every process on the box, by role, and the box's busy time. */
export interface CpuSample {
  at: number;
  /** Per pid: its role and its CPU so far. */
  pids: Map<number, { role: string; ms: number }>;
  /** Busy time of every core together (/proc/stat: all but idle and iowait), in ms. */
  boxMs: number;
}

/**
 * Samples the CPU of every process on the box: `named` pids (the services, the relay) under their
 * names, this process as the load generator, Kafka, the registry, every Postgres process and
 * Redis by what they run. Two samples give each role's CPU in between (cpuBetween).
 */
export function sampleCpu(named: Record<string, number>): CpuSample {
  const roles = new Map<number, string>(Object.entries(named).map(([role, pid]) => [pid, role]));
  roles.set(process.pid, 'load generator');
  const pids = new Map<number, { role: string; ms: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const role =
        roles.get(pid) ??
        roleOf(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
      if (role) pids.set(pid, { role, ms: cpuMs(pid) });
    } catch {
      // gone between the listing and the read
    }
  }
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const busy = ticks.slice(0, 8).reduce((sum, n, i) => (i === 3 || i === 4 ? sum : sum + n), 0);
  return { at: performance.now(), pids, boxMs: (busy * 1000) / TICKS_PER_SECOND };
}

/**
 * CPU ms of each role between two samples, plus `others` (the rest of the box's busy time: other
 * people's processes on a shared machine, the kernel's own work). A process that exited in
 * between is missing from the second sample, so its share of the window is lost (rare: services
 * and the database's pooled backends live through a run).
 */
export function cpuBetween(start: CpuSample, end: CpuSample): { seconds: number; ms: Record<string, number> } {
  const ms: Record<string, number> = {};
  for (const [pid, { role, ms: now }] of end.pids) ms[role] = (ms[role] ?? 0) + now - (start.pids.get(pid)?.ms ?? 0);
  const named = Object.values(ms).reduce((a, b) => a + b, 0);
  ms.others = Math.max(0, end.boxMs - start.boxMs - named);
  return { seconds: (end.at - start.at) / 1000, ms };
}

/** The machine, for a report: core count and CPU model. */
export function machine(): { cores: number; cpu: string } {
  return { cores: availableParallelism(), cpu: cpus()[0]?.model.trim() ?? 'unknown' };
}

/** Roles that are not the system under test: the load generator and the rest of the box. */
const NOT_SERVER = new Set(['load generator', 'others']);

export interface CpuFigures {
  /** CPU ms per unit (per accepted message, say) of each role. */
  msPer: Record<string, number>;
  /** Cores each role kept busy over the window (1 = one core all the time). */
  cores: Record<string, number>;
  /** Every role but the load generator and `others`: what serving the load cost. */
  serverMsPer: number;
  /** Every role, the load generator and `others` included: the whole box. */
  boxMsPer: number;
}

/** A window's CPU (cpuBetween) per `units` (accepted messages, deliveries) and in cores. */
export function cpuFigures(window: { seconds: number; ms: Record<string, number> }, units: number): CpuFigures {
  const per = (ms: number) => Math.round((ms / Math.max(1, units)) * 1000) / 1000;
  const roles = Object.entries(window.ms).sort(([a], [b]) => a.localeCompare(b));
  const sum = (keep: (role: string) => boolean) => roles.reduce((total, [role, ms]) => (keep(role) ? total + ms : total), 0);
  return {
    msPer: Object.fromEntries(roles.map(([role, ms]) => [role, per(ms)])),
    cores: Object.fromEntries(roles.map(([role, ms]) => [role, Math.round(ms / 10 / window.seconds) / 100])),
    serverMsPer: per(sum((role) => !NOT_SERVER.has(role))),
    boxMsPer: per(sum(() => true)),
  };
}
