/**
 * CPU time and memory of processes, read from `/proc` the same way for a
 * Node gateway and for an nginx master with its worker: `utime + stime`
 * from `/proc/<pid>/stat`, `VmRSS` from `/proc/<pid>/status`, and `Pss` from
 * `/proc/<pid>/smaps_rollup` (RSS counts the pages master and worker share
 * twice; PSS splits them).
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of `/proc/<pid>/stat` after the command name, from `state` (field 3) on. */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function kib(path: string, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(path, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** A gateway's processes: one Node process, or an nginx master and its worker. */
export interface ProcessGroup {
  readonly label: string;
  readonly pids: readonly number[];
}

/** Direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (Number(statFields(Number(entry))?.[1]) === pid) found.push(Number(entry));
  }
  return found;
}

/** User + system CPU seconds the group has used so far. */
export function cpuSeconds(group: ProcessGroup): number {
  let ticks = 0;
  for (const pid of group.pids) {
    const f = statFields(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/** Resident memory now, MiB: RSS summed, and PSS summed. */
export function memory(group: ProcessGroup): { rssMiB: number; pssMiB: number } {
  let rss = 0;
  let pss = 0;
  for (const pid of group.pids) {
    rss += kib(`/proc/${pid}/status`, 'VmRSS');
    pss += kib(`/proc/${pid}/smaps_rollup`, 'Pss');
  }
  return { rssMiB: rss / 1024, pssMiB: pss / 1024 };
}

/** Samples the groups' memory every `everyMs` until stopped; returns each group's peak. */
export function samplePeaks(
  groups: readonly ProcessGroup[],
  everyMs = 250,
): () => Map<string, { rssMiB: number; pssMiB: number }> {
  const peaks = new Map(groups.map((g) => [g.label, memory(g)]));
  const timer = setInterval(() => {
    for (const g of groups) {
      const now = memory(g);
      const peak = peaks.get(g.label)!;
      peaks.set(g.label, {
        rssMiB: Math.max(peak.rssMiB, now.rssMiB),
        pssMiB: Math.max(peak.pssMiB, now.pssMiB),
      });
    }
  }, everyMs);
  return () => {
    clearInterval(timer);
    return peaks;
  };
}
