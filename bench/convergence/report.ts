/**
 * The convergence benchmark's figures: one row per gateway count, printed
 * as a table and written to `bench/results/distribution.json`.
 *
 * @module
 */
import { percentile, round } from '../harness.js';

/** One timed change. */
export interface Sample {
  /** PUT sent -> the compile watermark reached its version. */
  readonly compiledMs: number;
  /** PUT sent -> the convergence report says every targeted gateway applied it. */
  readonly convergedMs: number;
  readonly targeted: number;
  /** PUT sent -> the last in-process control loop swapped it in (before its report); none without loops. */
  readonly loopsAppliedMs: number | undefined;
}

export interface Row {
  gateways: number;
  processes: number;
  loops: number;
  workers: number;
  targeted: number;
  changes: number;
  compiledP50Ms: number;
  compiledP99Ms: number;
  loopsAppliedP50Ms: number | null;
  loopsAppliedP99Ms: number | null;
  convergedP50Ms: number;
  convergedP99Ms: number;
  setupSeconds: number;
  rssMiB: { controlPlane: number; agents: number };
}

const p = (values: number[], q: number) => round(percentile(values, q), 1);

export function row(
  size: number,
  samples: readonly Sample[],
  counts: { processes: number; loops: number; workers: number },
  setupSeconds: number,
  agentsRss: number,
): Row {
  const sorted = (values: (number | undefined)[]) =>
    values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  const compiled = sorted(samples.map((s) => s.compiledMs));
  const applied = sorted(samples.map((s) => s.loopsAppliedMs));
  const converged = sorted(samples.map((s) => s.convergedMs));
  return {
    gateways: size,
    ...counts,
    targeted: Math.min(...samples.map((s) => s.targeted)),
    changes: samples.length,
    compiledP50Ms: p(compiled, 0.5),
    compiledP99Ms: p(compiled, 0.99),
    loopsAppliedP50Ms: applied.length > 0 ? p(applied, 0.5) : null,
    loopsAppliedP99Ms: applied.length > 0 ? p(applied, 0.99) : null,
    convergedP50Ms: p(converged, 0.5),
    convergedP99Ms: p(converged, 0.99),
    setupSeconds,
    rssMiB: { controlPlane: round(process.memoryUsage().rss / 2 ** 20, 0), agents: agentsRss },
  };
}

export function printRows(rows: readonly Row[]): void {
  const header = [
    'gateways',
    'processes+loops',
    'changes',
    'compiled p50/p99 ms',
    'loops applied p50/p99 ms',
  ].concat(['converged p50/p99 ms', 'setup s', 'RSS MiB cp/agents']);
  const lines = rows.map((r) => [
    `${r.gateways} (${r.targeted} targeted)`,
    `${r.processes}+${r.loops} (${r.workers} workers)`,
    String(r.changes),
    `${r.compiledP50Ms} / ${r.compiledP99Ms}`,
    r.loopsAppliedP50Ms === null ? '-' : `${r.loopsAppliedP50Ms} / ${r.loopsAppliedP99Ms}`,
    `${r.convergedP50Ms} / ${r.convergedP99Ms}`,
    String(r.setupSeconds),
    `${r.rssMiB.controlPlane} / ${r.rssMiB.agents}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log('\nConvergence: PUT of an AccessPolicy -> every targeted gateway reported it applied');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}
