/**
 * Measures every path in interleaved slices, because the machine is shared:
 * a busy spell from someone else's tests then lands on every path alike
 * instead of on whichever path happened to run in it. Each path gets a
 * warm-up, then `rounds` saturated slices and `rounds` fixed-rate slices
 * (the order of paths rotates every round); around each slice, the CPU
 * seconds and peak memory of that path's gateway processes.
 *
 * @module
 */
import { round } from '../harness.js';
import type { GatewayStats } from './node-gateway.js';
import { type FixedRateResult, OpenLoopClient } from './open-loop.js';
import type { PathName, PathUnderTest } from './paths.js';
import { cpuSeconds, samplePeaks } from './proc.js';
import { type SaturatedResult, saturate } from './wrk.js';

/** What one gateway used over one kind of run. */
export interface Usage {
  readonly cpuSeconds: number;
  /** CPU seconds per 10,000 requests answered. */
  readonly cpuPer10k: number;
  readonly peakRssMiB: number;
  readonly peakPssMiB: number;
}

/** Everything measured on one path. */
export interface PathResult {
  readonly name: PathName;
  /** Requests/s over all slices; p50/p99 the median of the slices' (wrk reports no raw latencies). */
  readonly saturated: SaturatedResult & { readonly slices: readonly number[] };
  readonly fixedRate: FixedRateResult;
  /** By gateway label. */
  readonly usage: { saturated: Record<string, Usage>; fixedRate: Record<string, Usage> };
  /**
   * weft and floor: each gateway's own account at the end, warm-up included
   * (`process.cpuUsage()`, RSS, heap; weft: `weft_requests_total` by status).
   */
  readonly selfReport?: Record<string, GatewayStats>;
}

/** How long and how hard. */
export interface MeasureSettings {
  /** wrk, or undefined for the Node stand-in. */
  readonly wrk: string | undefined;
  readonly dir: string;
  /** Per path and kind of run: `rounds` slices of `seconds / rounds` (whole seconds, at least 1). */
  readonly seconds: number;
  readonly rounds: number;
  readonly warmupSeconds: number;
  readonly rate: number;
  readonly connections: number;
}

/** CPU and peak memory of a path's processes, added up over slices. */
class UsageMeter {
  readonly #cpu = new Map<string, number>();
  readonly #peak = new Map<string, { rssMiB: number; pssMiB: number }>();
  #answered = 0;

  async around<T>(path: PathUnderTest, run: () => Promise<T>, answered: (t: T) => number): Promise<T> {
    const before = path.groups.map(cpuSeconds);
    const peaks = samplePeaks(path.groups);
    const result = await run();
    const peak = peaks();
    path.groups.forEach((g, i) => {
      this.#cpu.set(g.label, (this.#cpu.get(g.label) ?? 0) + cpuSeconds(g) - before[i]!);
      const was = this.#peak.get(g.label) ?? { rssMiB: 0, pssMiB: 0 };
      const now = peak.get(g.label)!;
      this.#peak.set(g.label, {
        rssMiB: Math.max(was.rssMiB, now.rssMiB),
        pssMiB: Math.max(was.pssMiB, now.pssMiB),
      });
    });
    this.#answered += answered(result);
    return result;
  }

  usage(): Record<string, Usage> {
    const out: Record<string, Usage> = {};
    for (const [label, cpu] of this.#cpu) {
      const peak = this.#peak.get(label)!;
      out[label] = {
        cpuSeconds: round(cpu, 2),
        cpuPer10k: round((cpu * 10_000) / Math.max(this.#answered, 1), 3),
        peakRssMiB: round(peak.rssMiB, 1),
        peakPssMiB: round(peak.pssMiB, 1),
      };
    }
    return out;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

function merge(slices: SaturatedResult[]): PathResult['saturated'] {
  const requests = slices.reduce((n, s) => n + s.requests, 0);
  const seconds = slices.reduce((n, s) => n + s.seconds, 0);
  return {
    tool: slices[0]!.tool,
    requests,
    seconds: round(seconds, 3),
    requestsPerSecond: round(requests / seconds, 1),
    p50Ms: median(slices.map((s) => s.p50Ms)),
    p99Ms: median(slices.map((s) => s.p99Ms)),
    errors: slices.reduce((n, s) => n + s.errors, 0),
    non2xx: slices.reduce((n, s) => n + s.non2xx, 0),
    slices: slices.map((s) => s.requestsPerSecond),
  };
}

/** Warm-up, then interleaved saturated and fixed-rate slices, over every path. */
export async function measurePaths(
  paths: readonly PathUnderTest[],
  s: MeasureSettings,
): Promise<PathResult[]> {
  // wrk takes whole seconds.
  const slice = Math.max(1, Math.round(s.seconds / s.rounds));
  const load = (p: PathUnderTest, seconds: number) =>
    saturate(s.wrk, s.dir, p.target, seconds, s.connections);
  const rotated = (r: number) => paths.map((_, i) => paths[(i + r) % paths.length]!);
  for (const p of paths) await load(p, s.warmupSeconds);
  const saturated = paths.map(() => ({ meter: new UsageMeter(), slices: [] as SaturatedResult[] }));
  for (let r = 0; r < s.rounds; r++)
    for (const p of rotated(r)) {
      const at = saturated[paths.indexOf(p)]!;
      at.slices.push(
        await at.meter.around(
          p,
          () => load(p, slice),
          (x) => x.requests,
        ),
      );
    }
  const fixed = paths.map((p) => ({ meter: new UsageMeter(), client: new OpenLoopClient(p.target) }));
  try {
    for (let r = 0; r < s.rounds; r++)
      for (const p of rotated(r)) {
        const { meter, client } = fixed[paths.indexOf(p)]!;
        const before = client.answered;
        await meter.around(
          p,
          () => client.run(s.rate, slice),
          () => client.answered - before,
        );
      }
  } finally {
    await Promise.all(fixed.map((f) => f.client.close()));
  }
  return Promise.all(
    paths.map(async (p, i) => ({
      name: p.name,
      saturated: merge(saturated[i]!.slices),
      fixedRate: fixed[i]!.client.result(),
      usage: { saturated: saturated[i]!.meter.usage(), fixedRate: fixed[i]!.meter.usage() },
      ...(p.gateways
        ? {
            selfReport: Object.fromEntries(
              await Promise.all(p.gateways.map(async (g) => [g.label, await g.stats()])),
            ),
          }
        : {}),
    })),
  );
}
