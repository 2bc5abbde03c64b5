/**
 * The data plane benchmark's figures: the throughput and latency table
 * (weft and nginx side by side, the direct call as the further baseline,
 * and the bare-Node floor), added latency and the ratios against the
 * issue's targets, and a table of CPU and memory per gateway.
 *
 * @module
 */
import { type Measurement, printTable, round } from '../harness.js';
import type { PathResult } from './measure.js';
import type { PathName } from './paths.js';
import type { RoutesMemory } from './routes-memory.js';

/** Targets from the issue: weft/nginx. */
export const TARGETS = { throughputAtLeast: 0.6, addedP99AtMost: 1.5 } as const;

export type Measured = Record<PathName, PathResult>;
type Gateways = Exclude<PathName, 'direct'>;

/** Added latency: a path's less the direct call's, ms. */
export interface Added {
  /** From the median of the slices' p50 and p99 (the headline: a stall spoils one slice, not the figure). */
  readonly p50: number;
  readonly p99: number;
  /** From p50 and p99 over every request. */
  readonly pooledP50: number;
  readonly pooledP99: number;
}

/** Added latency per path, and weft against nginx. */
export interface Ratios {
  readonly addedMs: Record<Gateways, Added>;
  /** weft/nginx saturated requests/s. */
  readonly throughput: number;
  /**
   * weft/nginx added latency (median-of-slices figures); `null` when nginx's
   * is not above the direct call's (nothing to divide by: noise).
   */
  readonly addedP50: number | null;
  readonly addedP99: number | null;
  /** weft/nginx added p99 over every request. */
  readonly addedP99Pooled: number | null;
  readonly meetsThroughput: boolean;
  readonly meetsAddedP99: boolean;
  /** The bare-Node floor/nginx saturated requests/s: the most weft could reach as built. */
  readonly floorThroughput: number;
  /**
   * CPU per request of both gateways, saturated, against nginx's: a capacity
   * ratio that a busy machine disturbs less than requests/s do.
   */
  readonly cpuPerRequest: { weft: number; floor: number };
}

const cpuPer10k = (p: PathResult) =>
  Object.values(p.usage.saturated).reduce((sum, u) => sum + u.cpuPer10k, 0);
const cpuRatio = (p: PathResult, nginx: PathResult) => round(cpuPer10k(p) / cpuPer10k(nginx), 2);

/** Added latency and the ratios of weft (and of the floor) against nginx. */
export function ratios(paths: Measured): Ratios {
  const d = paths.direct.fixedRate;
  const added = ({ fixedRate: f }: PathResult): Added => ({
    p50: round(f.medianSliceP50Ms - d.medianSliceP50Ms, 3),
    p99: round(f.medianSliceP99Ms - d.medianSliceP99Ms, 3),
    pooledP50: round(f.p50Ms - d.p50Ms, 3),
    pooledP99: round(f.p99Ms - d.p99Ms, 3),
  });
  const addedMs = { nginx: added(paths.nginx), floor: added(paths.floor), weft: added(paths.weft) };
  const rps = (p: PathResult) => p.saturated.requestsPerSecond;
  const throughput = round(rps(paths.weft) / rps(paths.nginx), 3);
  const over = (weft: number, nginx: number) => (nginx > 0 ? round(weft / nginx, 3) : null);
  return {
    addedMs,
    throughput,
    addedP50: over(addedMs.weft.p50, addedMs.nginx.p50),
    addedP99: over(addedMs.weft.p99, addedMs.nginx.p99),
    addedP99Pooled: over(addedMs.weft.pooledP99, addedMs.nginx.pooledP99),
    meetsThroughput: throughput >= TARGETS.throughputAtLeast,
    // nginx adding nothing measurable leaves weft the same allowance: nothing.
    meetsAddedP99: addedMs.weft.p99 <= TARGETS.addedP99AtMost * Math.max(addedMs.nginx.p99, 0),
    floorThroughput: round(rps(paths.floor) / rps(paths.nginx), 3),
    cpuPerRequest: { weft: cpuRatio(paths.weft, paths.nginx), floor: cpuRatio(paths.floor, paths.nginx) },
  };
}

function printRows(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(fmt(r));
}

const NAMES: Record<PathName, string> = {
  direct: 'direct call',
  nginx: 'nginx A->B',
  floor: 'bare Node A->B',
  weft: 'weft A->B',
};

const asMeasurement = (p: PathResult): Measurement => ({
  name: NAMES[p.name],
  ops: p.saturated.requests,
  seconds: p.saturated.seconds,
  opsPerSecond: p.saturated.requestsPerSecond,
  p50Ms: p.fixedRate.medianSliceP50Ms,
  p99Ms: p.fixedRate.medianSliceP99Ms,
});

/** Prints the throughput/latency table, added latency with the ratios, and CPU/memory per gateway. */
export function printReport(
  paths: Measured,
  r: Ratios,
  routes: {
    weft: RoutesMemory[];
    nginx: RoutesMemory[];
    runtime: { node: RoutesMemory; nodeWithTsx: RoutesMemory };
  },
  rate: number,
): void {
  const [d, n, f, w] = [paths.direct, paths.nginx, paths.floor, paths.weft].map(asMeasurement) as [
    Measurement,
    Measurement,
    Measurement,
    Measurement,
  ];
  printTable(
    `Gateway data plane, two hops on loopback: ops/s saturated (wrk -t1 -c32); p50/p99 ms at a fixed ${rate} req/s (median of slices)`,
    [
      { subject: w, baseline: n },
      { subject: w, baseline: f },
      { subject: w, baseline: d },
      { subject: n, baseline: d },
      { subject: f, baseline: n },
    ],
  );
  const order = [paths.direct, paths.nginx, paths.floor, paths.weft];
  printRows(
    `Added latency at ${rate} req/s, ms: path minus direct, from the median of slices (and over every request)`,
    [
      'path',
      'p50',
      'p99',
      'added p50',
      'added p99',
      'pooled p99',
      'pooled added p99',
      'failed',
      'client lag p99',
    ],
    order.map((p) => [
      p.name,
      String(p.fixedRate.medianSliceP50Ms),
      String(p.fixedRate.medianSliceP99Ms),
      p.name === 'direct' ? '-' : String(r.addedMs[p.name].p50),
      p.name === 'direct' ? '-' : String(r.addedMs[p.name].p99),
      String(p.fixedRate.p99Ms),
      p.name === 'direct' ? '-' : String(r.addedMs[p.name].pooledP99),
      String(p.fixedRate.failed + p.saturated.errors + p.saturated.non2xx),
      String(p.fixedRate.clientLagP99Ms),
    ]),
  );
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const x = (ratio: number | null) => (ratio === null ? 'n/a (nginx adds none over direct)' : `${ratio}x`);
  console.log(
    `\nweft/nginx: throughput ${r.throughput}x (target >= ${TARGETS.throughputAtLeast}: ${mark(r.meetsThroughput)}), ` +
      `added p99 ${x(r.addedP99)} (target <= ${TARGETS.addedP99AtMost}: ${mark(r.meetsAddedP99)}), ` +
      `added p50 ${x(r.addedP50)}, pooled added p99 ${x(r.addedP99Pooled)}; bare Node/nginx throughput ${r.floorThroughput}x`,
  );
  console.log(
    `CPU per request, both gateways, saturated: weft ${r.cpuPerRequest.weft}x nginx's, bare Node ${r.cpuPerRequest.floor}x`,
  );
  const at = (list: RoutesMemory[], i: number) => (list[i] ? `${list[i].rssMiB} / ${list[i].pssMiB}` : '-');
  const rows = [paths.nginx, paths.floor, paths.weft].flatMap((p) =>
    Object.keys(p.usage.saturated).map((label) => {
      const sat = p.usage.saturated[label]!;
      const fixed = p.usage.fixedRate[label]!;
      const list = label === 'weft-a' ? routes.weft : label === 'nginx-a' ? routes.nginx : [];
      return [
        label,
        String(sat.cpuPer10k),
        String(fixed.cpuPer10k),
        `${sat.peakRssMiB} / ${sat.peakPssMiB}`,
        at(list, 0),
        at(list, 1),
      ];
    }),
  );
  const many = routes.weft[1]?.routes ?? routes.nginx[1]?.routes ?? 0;
  printRows(
    'CPU and memory per gateway (nginx: master + worker; MiB as RSS / PSS)',
    [
      'gateway',
      'CPU s/10k saturated',
      `CPU s/10k @${rate}/s`,
      'peak MiB saturated',
      'idle MiB, 1 route',
      `idle MiB, ${many} routes`,
    ],
    rows,
  );
  const { node, nodeWithTsx } = routes.runtime;
  console.log(
    `runtime alone, idle: node ${node.rssMiB} / ${node.pssMiB} MiB; ` +
      `node --import tsx (as bin/weft.js runs) ${nodeWithTsx.rssMiB} / ${nodeWithTsx.pssMiB} MiB`,
  );
}
