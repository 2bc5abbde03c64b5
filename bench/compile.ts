/**
 * The snapshot compiler at scale: 1,000 services and 100 gateways (10
 * environments x 10), three workloads per service in three environments, a
 * policy per service, a route for every third. Times a full compile and
 * incremental compiles of single changes, checks each incremental result
 * against a full compile once, and reports the heap the snapshots hold.
 *
 * @module
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type CompileResult, compileIncremental, compileSnapshots } from '../shared/compiler/compile.js';
import { applyRecords, type MeshState, meshStateFrom } from '../shared/compiler/mesh-state.js';
import { canonicalSnapshotJson } from '../shared/contract/canonical.js';
import { formatHlc } from '../shared/model/hlc.js';
import { keyOf, parseResource } from '../shared/model/resource.js';
import type { StoredRecord } from '../shared/storage/state-store.js';
import { percentile, round, writeResults } from './harness.js';

const SERVICES = 1000;
const ENVS = 10;
const GATEWAYS_PER_ENV = 10;
const RUNS = 50;

let wall = 1_700_000_000_000;
function write(kind: string, name: string, spec: object, namespace?: string): StoredRecord {
  const metadata = { name, ...(namespace && { namespace }) };
  const resource = parseResource({ apiVersion: 'weft.dev/v1', kind, metadata, spec });
  return {
    key: keyOf(resource),
    version: formatHlc({ wall: wall++, counter: 0, node: 'aws' }),
    origin: 'aws',
    updatedAt: '',
    resource,
  };
}

const env = (i: number) => `env-${i % ENVS}`;
const ns = (s: number) => `team-${s % 20}`;
const workload = (s: number, k: number, weight = 1, environment = env(s + k)) =>
  write(
    'Workload',
    `svc-${s}-${k}`,
    {
      service: `svc-${s}`,
      environment,
      address: `10.${k}.${s >> 8}.${s & 255}:8080`,
      weight,
      sourceAddresses: [`10.${k}.${s >> 8}.${s & 255}`],
    },
    ns(s),
  );
const policy = (s: number, method: 'GET' | 'POST') =>
  write(
    'AccessPolicy',
    `svc-${s}-allow`,
    {
      service: `svc-${s}`,
      action: 'allow',
      rules: [{ from: [`spiffe://bench.test/ns/${ns(s + 1)}/*`], methods: [method] }],
    },
    ns(s),
  );
const route = (s: number, canary: number) =>
  write(
    'Route',
    `svc-${s}-route`,
    {
      service: `svc-${s}`,
      rules: [
        {
          matches: [{ path: { value: '/v2' } }],
          backends: [
            { environment: env(s), weight: 100 - canary },
            { environment: env(s + 1), weight: canary },
          ],
          retries: { attempts: 2 },
        },
        { backends: [{ environment: env(s) }], failover: [env(s + 2)] },
      ],
    },
    ns(s),
  );

function buildRecords(): StoredRecord[] {
  const records = [
    write('Mesh', 'mesh', { trustDomain: 'bench.test', identity: { allowSourceAddress: true } }),
  ];
  for (let e = 0; e < ENVS; e++) {
    records.push(write('Environment', env(e), { provider: 'aws', region: `region-${e}` }));
    for (let g = 0; g < GATEWAYS_PER_ENV; g++)
      records.push(
        write('Gateway', `gw-${e}-${g}`, { environment: env(e), address: `10.200.${e}.${g}:15443` }),
      );
  }
  for (let s = 0; s < SERVICES; s++) {
    records.push(write('Service', `svc-${s}`, { ports: [{ name: 'http', port: 8080 }] }, ns(s)));
    for (let k = 0; k < 3; k++) records.push(workload(s, k));
    records.push(policy(s, 'GET'));
    if (s % 3 === 0) records.push(route(s, 10));
  }
  return records;
}

interface Scenario {
  readonly name: string;
  readonly change: (i: number) => StoredRecord;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'workload weight (one env)', change: (i) => workload(7, 0, 1 + (i % 2)) },
  { name: 'workload to a new env (egress)', change: (i) => workload(7, 0, 1, env(i % 2 ? 3 : 7)) },
  { name: 'policy (its 3 envs)', change: (i) => policy(7, i % 2 ? 'GET' : 'POST') },
  { name: 'route (egress)', change: (i) => route(9, i % 2 ? 10 : 20) },
];

/** Wall and CPU milliseconds of `op`: on a shared machine the CPU figure is the steadier one. */
function timed<T>(op: () => T): { value: T; ms: number; cpuMs: number } {
  const [t, cpu] = [performance.now(), process.cpuUsage()];
  const value = op();
  const { user, system } = process.cpuUsage(cpu);
  return { value, ms: round(performance.now() - t, 2), cpuMs: round((user + system) / 1000, 2) };
}
const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
// Heap figures mean little with garbage in them; `npm run bench` runs without --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMiB = () => {
  gc();
  return round(process.memoryUsage().heapUsed / 2 ** 20, 1);
};
const hashes = (r: CompileResult) => [...r.snapshots].map(([k, s]) => `${k}=${s.hash}@${s.version}`).join();

/** Runs the compile benchmark, prints its table and writes `bench/results/compile.json`. */
export async function benchCompile(): Promise<void> {
  const heapBefore = heapMiB();
  const records = buildRecords();
  let state: MeshState = meshStateFrom(records, { keys: [] });
  const heapState = heapMiB();
  let result = compileSnapshots(state);
  const fulls = Array.from({ length: 5 }, () => {
    const { value, ...run } = timed(() => compileSnapshots(state, result.snapshots));
    result = value;
    return run;
  });
  const heapSnapshots = heapMiB();
  const serialized = timed(() => [...result.snapshots.values()].map(canonicalSnapshotJson));
  const bytes = serialized.value.reduce((n, json) => n + json.length, 0);
  const rows: {
    scenario: string;
    gatewaysChanged: number;
    p50Ms: number;
    p99Ms: number;
    cpuP50Ms: number;
  }[] = [];
  for (const scenario of SCENARIOS) {
    const runs = Array.from({ length: RUNS }, (_, i) => {
      const record = scenario.change(i);
      state = applyRecords(state, [record]);
      const { value, ...run } = timed(() => compileIncremental(state, result, [record.key]));
      result = value;
      return { ...run, changed: value.changed.length };
    });
    const full = compileSnapshots(state, result.snapshots);
    if (hashes(full) !== hashes(result)) throw new Error(`${scenario.name}: incremental differs from full`);
    const times = runs.map((r) => r.ms).sort((a, b) => a - b);
    rows.push({
      scenario: scenario.name,
      gatewaysChanged: Math.max(...runs.map((r) => r.changed)),
      p50Ms: percentile(times, 0.5),
      p99Ms: percentile(times, 0.99),
      cpuP50Ms: median(runs.map((r) => r.cpuMs)),
    });
  }
  const summary = {
    services: SERVICES,
    workloads: SERVICES * 3,
    gateways: result.snapshots.size,
    fullCompileMs: { median: median(fulls.map((r) => r.ms)), cpuMedian: median(fulls.map((r) => r.cpuMs)) },
    snapshotBytes: { one: serialized.value[0]!.length, all: bytes },
    serializeAllMs: serialized.ms,
    heapMiB: { before: heapBefore, state: heapState, withSnapshots: heapSnapshots },
  };
  const { fullCompileMs: full, heapMiB: heap } = summary;
  console.log(`\ncompile: ${SERVICES} services, ${SERVICES * 3} workloads, ${summary.gateways} gateways`);
  console.log(`full compile      ${full.median} ms (cpu ${full.cpuMedian} ms), median of 5`);
  console.log(
    `serialize all     ${serialized.ms} ms, ${round(bytes / 2 ** 20, 1)} MiB (one snapshot ${round(summary.snapshotBytes.one / 1024, 1)} KiB)`,
  );
  console.log(
    `heap used         ${heap.before} -> ${heap.state} (state) -> ${heap.withSnapshots} MiB (with snapshots)`,
  );
  const table = [['incremental, one change', 'gateways changed', 'p50 ms', 'p99 ms', 'cpu p50 ms']];
  for (const r of rows)
    table.push([r.scenario, ...[r.gatewaysChanged, r.p50Ms, r.p99Ms, r.cpuP50Ms].map(String)]);
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log('');
  for (const row of table)
    console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  const file = await writeResults('compile', { ...summary, incremental: rows });
  console.log(`\nwrote ${file}`);
}
