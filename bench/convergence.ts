/**
 * Convergence at scale: from an operator's write (`PUT` of an AccessPolicy)
 * to every targeted gateway reporting it applied (the API's convergence
 * report, what `weft apply --wait` polls), for 10, 100 and 1,000 gateways,
 * 20 changes each (5 at 1,000, to keep the run to a few minutes). The control plane is the local host in this process;
 * agents are real `weft agent` processes up to 50, then control loops in a
 * few worker processes (`convergence/fleet.ts`), each with its own loopback
 * address for its admin port (webhook) and its calls. Everything shares the
 * machine's CPUs, which is part of what is measured. `WEFT_BENCH_GATEWAYS`
 * and `WEFT_BENCH_CHANGES` narrow a run.
 *
 * @module
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalHost } from '../functions/local/host.js';
import { Fleet } from './convergence/fleet.js';
import { baseDocs, checkoutPolicy, gatewayDocs, gatewayOf } from './convergence/mesh.js';
import { Operator } from './convergence/operator.js';
import { printRows, type Row, row } from './convergence/report.js';
import { round, writeResults } from './harness.js';

/** `WEFT_BENCH_GATEWAYS=10,100` for a quicker run. */
const SIZES = (process.env.WEFT_BENCH_GATEWAYS ?? '10,100,1000').split(',').map(Number);
/** Changes timed per size: fewer at 1,000 gateways, where one takes tens of seconds on 2 CPUs. */
const changesFor = (size: number) => Number(process.env.WEFT_BENCH_CHANGES ?? (size >= 1000 ? 5 : 20));
const SILENT = { info() {}, error() {} };

/**
 * Grows one mesh from 10 to 100 to 1,000 gateways, timing policy changes at
 * each size; prints a table and writes `bench/results/distribution.json`
 * beside the compile figures of `bench/results/compile.json`.
 */
export async function benchConvergence(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'weft-bench-convergence-'));
  // One source address (127.0.0.1) attests for the fifty agent processes: lift the per-address limit.
  const attestRateLimit = { limit: 1_000_000, windowMs: 60_000 };
  const host = await startLocalHost({ dataDir: join(root, 'cp'), logger: SILENT, attestRateLimit });
  const operator = new Operator(host.url, host.adminToken);
  const fleet = new Fleet(host.url, join(root, 'agents'), operator);
  const rows: Row[] = [];
  try {
    await operator.apply(baseDocs());
    let have = 0;
    for (const size of SIZES) {
      const started = performance.now();
      const grown = await operator.apply(gatewayDocs(have, size));
      await fleet.add(Array.from({ length: size - have }, (_, i) => gatewayOf(have + i)));
      progress(`${size} gateways: agents started (${JSON.stringify(fleet.counts)})`, started);
      await operator.waitConverged(grown, started);
      have = size;
      const setupSeconds = round((performance.now() - started) / 1000, 1);
      progress(`${size} gateways: converged on the grown mesh`, started);
      const samples = [];
      for (let k = 1; k <= changesFor(size); k++) {
        const [t, wall] = [performance.now(), Date.now()];
        const version = await operator.putPolicy(checkoutPolicy(size * 100 + k));
        const sample = await operator.waitConverged(version, t);
        const loops = await fleet.loopsApplied(version);
        samples.push({ ...sample, loopsAppliedMs: loops.count > 0 ? loops.lastAt - wall : undefined });
        progress(`${size} gateways: change ${k} converged`, t);
      }
      rows.push(row(size, samples, fleet.counts, setupSeconds, await fleet.rssMiB()));
    }
  } finally {
    await fleet.close();
    await host.close();
    await rm(root, { recursive: true, force: true });
  }
  printRows(rows);
  const compile = await readFile(join(import.meta.dirname, 'results', 'compile.json'), 'utf8')
    .then((t) => JSON.parse(t) as Record<string, unknown>)
    .catch(() => undefined);
  const file = await writeResults('distribution', {
    what: 'PUT of an AccessPolicy concerning every gateway -> compiled -> every gateway reported it applied',
    pollResolution: 'the convergence report is polled every 2% of the time elapsed (10 ms to 500 ms)',
    convergence: rows,
    compile: compile && {
      at: compile.at,
      fullCompileMs: compile.fullCompileMs,
      incremental: compile.incremental,
    },
  });
  console.log(`\nwrote ${file}`);
}

function progress(line: string, since: number): void {
  console.error(`convergence: ${line} in ${round((performance.now() - since) / 1000, 1)} s`);
}
