/**
 * Tiny benchmark harness: run an operation with fixed concurrency for a fixed
 * count, collect latencies, and print a table with ratios against a baseline
 * measured in the same run. Benchmarks print; tests never assert on timings.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Measurement {
  readonly name: string;
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Runs `op(i)` `count` times with `concurrency` in flight; returns rate and latency. */
export async function measure(
  name: string,
  count: number,
  concurrency: number,
  op: (i: number) => Promise<void>,
): Promise<Measurement> {
  const latencies = new Float64Array(count);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const t = performance.now();
      await op(i);
      latencies[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  return {
    name,
    ops: count,
    seconds: round(seconds, 3),
    opsPerSecond: round(count / seconds, 1),
    p50Ms: round(percentile(latencies, 0.5), 3),
    p99Ms: round(percentile(latencies, 0.99), 3),
  };
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export const round = (n: number, digits: number) => Number(n.toFixed(digits));

/** p50, p99 and max of `samples` (ms), rounded to `digits`. */
export function latencyStats(name: string, samples: readonly number[], digits = 1) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    name,
    count: samples.length,
    p50Ms: round(percentile(sorted, 0.5), digits),
    p99Ms: round(percentile(sorted, 0.99), digits),
    maxMs: round(sorted.at(-1) ?? 0, digits),
  };
}

/** One row of the printed table: a measurement against its baseline. */
export interface Comparison {
  readonly subject: Measurement;
  readonly baseline: Measurement;
}

/** Prints `rows` as an aligned table with the throughput ratio subject/baseline. */
export function printTable(title: string, rows: readonly Comparison[]): void {
  const header = ['operation', 'ops/s', 'p50 ms', 'p99 ms', 'baseline', 'ops/s', 'p50 ms', 'p99 ms', 'ratio'];
  const lines = rows.map(({ subject: s, baseline: b }) => [
    s.name,
    String(s.opsPerSecond),
    String(s.p50Ms),
    String(s.p99Ms),
    b.name,
    String(b.opsPerSecond),
    String(b.p50Ms),
    String(b.p99Ms),
    `${round(s.opsPerSecond / b.opsPerSecond, 2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

/** Writes `bench/results/<name>.json` with the machine it ran on. */
export async function writeResults(name: string, results: object): Promise<string> {
  const dir = join(import.meta.dirname, 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const os = await import('node:os');
  const machine = {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memGiB: round(os.totalmem() / 2 ** 30, 1),
  };
  await writeFile(
    file,
    `${JSON.stringify({ name, at: new Date().toISOString(), machine, ...results }, null, 2)}\n`,
  );
  return file;
}
