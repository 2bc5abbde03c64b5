/**
 * Measures one path: a short warm-up (connections, TLS sessions, JIT), then
 * saturated throughput, then latency at a fixed rate; around each run, the
 * CPU seconds and peak memory of every gateway process on the path.
 *
 * @module
 */
import { round } from '../harness.js';
import { type FixedRateResult, runFixedRate } from './open-loop.js';
import type { PathName, PathUnderTest } from './paths.js';
import { cpuSeconds, samplePeaks } from './proc.js';
import { type SaturatedResult, saturate } from './wrk.js';

/** What one gateway used during one run. */
export interface Usage {
  readonly cpuSeconds: number;
  /** CPU seconds per 10,000 requests answered in the run. */
  readonly cpuPer10k: number;
  readonly peakRssMiB: number;
  readonly peakPssMiB: number;
}

/** Everything measured on one path. */
export interface PathResult {
  readonly name: PathName;
  readonly saturated: SaturatedResult;
  readonly fixedRate: FixedRateResult;
  /** By gateway label. */
  readonly usage: { saturated: Record<string, Usage>; fixedRate: Record<string, Usage> };
  /** weft: `weft_requests_total` by gateway and status, after both runs (warm-up included). */
  readonly counted?: Record<string, Record<string, number>>;
}

/** How long and how hard. */
export interface MeasureSettings {
  /** wrk, or undefined for the Node stand-in. */
  readonly wrk: string | undefined;
  readonly dir: string;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly rate: number;
  readonly connections: number;
}

async function withUsage<T>(
  path: PathUnderTest,
  run: () => Promise<T>,
  answered: (result: T) => number,
): Promise<{ result: T; usage: Record<string, Usage> }> {
  const before = path.groups.map(cpuSeconds);
  const peaks = samplePeaks(path.groups);
  const result = await run();
  const peak = peaks();
  const usage: Record<string, Usage> = {};
  path.groups.forEach((g, i) => {
    const cpu = cpuSeconds(g) - before[i]!;
    const mem = peak.get(g.label)!;
    usage[g.label] = {
      cpuSeconds: round(cpu, 2),
      cpuPer10k: round((cpu * 10_000) / Math.max(answered(result), 1), 3),
      peakRssMiB: round(mem.rssMiB, 1),
      peakPssMiB: round(mem.pssMiB, 1),
    };
  });
  return { result, usage };
}

/** Warm-up, saturated run and fixed-rate run on `path`. */
export async function measurePath(path: PathUnderTest, s: MeasureSettings): Promise<PathResult> {
  const run = (seconds: number) => saturate(s.wrk, s.dir, path.target, seconds, s.connections);
  await run(s.warmupSeconds);
  const saturated = await withUsage(
    path,
    () => run(s.seconds),
    (r) => r.requests,
  );
  const fixedRate = await withUsage(
    path,
    () => runFixedRate(path.target, s.rate, s.seconds),
    (r) => r.ok,
  );
  return {
    name: path.name,
    saturated: saturated.result,
    fixedRate: fixedRate.result,
    usage: { saturated: saturated.usage, fixedRate: fixedRate.usage },
    ...(path.counted ? { counted: await path.counted() } : {}),
  };
}
