/**
 * The gateway data plane's two-hop path (client -> gateway A -> mTLS 1.3 ->
 * gateway B -> service) beside nginx doing the same two hops, beside the
 * same two hops in bare Node (the floor under weft: `node:http(s)` and
 * undici only) and beside the direct call, all on 127.0.0.1: saturated
 * requests/s (wrk), p50 and p99 added latency at a fixed rate (open loop),
 * CPU and memory per gateway process, and gateway A's memory with 1,000
 * routes loaded. Every path runs at once and is measured in slices
 * interleaved with the others, as the machine is shared. weft runs as the
 * agent would: each gateway its own process, JWT-SVID checked at both
 * hops, routing with retries and a budget, policy at B, metrics and one
 * access line per hop. Writes `bench/results/dataplane.json`.
 *
 * Settings (env): `WEFT_BENCH_DATAPLANE_SECONDS` (10), `..._RATE` (1000),
 * `..._ROUTES` (1000); `WEFT_BENCH_DATAPLANE_PROFILE=1` adds, for weft and
 * the bare-Node floor, a saturated run under the V8 CPU profiler and prints
 * where each gateway's time went, per request.
 *
 * @module
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopEveryChild } from './dataplane/children.js';
import { startFloorPath } from './dataplane/floor.js';
import { makeMaterials } from './dataplane/materials.js';
import { measurePaths } from './dataplane/measure.js';
import { ensureTool } from './dataplane/nginx.js';
import {
  checkPath,
  directPath,
  type PathUnderTest,
  startNginxPath,
  startService,
} from './dataplane/paths.js';
import { type ProfileSummary, printProfile, profilePath } from './dataplane/profile.js';
import { type Measured, printReport, ratios, TARGETS } from './dataplane/report.js';
import { nginxRoutesMemory, runtimeMemory, weftRoutesMemory } from './dataplane/routes-memory.js';
import { startWeftPath } from './dataplane/weft.js';
import { saturate, type Target } from './dataplane/wrk.js';
import { writeResults } from './harness.js';

const env = (name: string, fallback: number) =>
  Number(process.env[`WEFT_BENCH_DATAPLANE_${name}`] ?? fallback);
const SECONDS = env('SECONDS', 10);
const RATE = env('RATE', 1000);
const ROUTES = env('ROUTES', 1000);
const CONNECTIONS = 32;
/** Slices per path and kind of run, interleaved across paths (see `measure.ts`). */
const ROUNDS = 5;
const PROFILE = process.env.WEFT_BENCH_DATAPLANE_PROFILE === '1';

/** Runs the data plane benchmark, prints its tables and writes `bench/results/dataplane.json`. */
export async function benchDataplane(): Promise<void> {
  const nginx = ensureTool('nginx');
  const wrk = ensureTool('wrk');
  if (!nginx) {
    console.log('dataplane: skipped, nginx is neither installed nor installable here');
    return;
  }
  if (!wrk) console.log('dataplane: wrk is unavailable; saturated runs use the bounded Node client instead');
  console.log(
    `dataplane: per path ${SECONDS} s saturated (-c${CONNECTIONS}) and ${SECONDS} s at ${RATE} req/s, ` +
      `each in ${ROUNDS} slices interleaved across paths, on 127.0.0.1`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-dataplane-'));
  // nginx workers drop root for nobody, and must reach their temp dirs.
  await chmod(dir, 0o711);
  const running: PathUnderTest[] = [];
  const stopAll = async () => {
    for (const p of running.splice(0).reverse()) await p.stop().catch((e: unknown) => console.error(e));
  };
  const onSignal = () =>
    void stopEveryChild()
      .then(() => rm(dir, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  try {
    const m = await makeMaterials(dir);
    const service = await startService(nginx, dir);
    running.push({ name: 'direct', target: { origin: '', headers: {} }, groups: [], stop: service.stop });
    const starters = [
      async () => directPath(m, service),
      () => startNginxPath(nginx, dir, m, service),
      () => startFloorPath(dir, m, service),
      () => startWeftPath(dir, m, service),
    ];
    for (const start of starters) {
      const path = await start();
      running.push(path);
      await checkPath(path.name, path.target);
    }
    const settings = {
      wrk,
      dir,
      seconds: SECONDS,
      rounds: ROUNDS,
      warmupSeconds: 3,
      rate: RATE,
      connections: CONNECTIONS,
    };
    const measured = await measurePaths(running.slice(1), settings);
    const profile: Record<string, ProfileSummary> = {};
    const load = (target: Target, seconds: number) => saturate(wrk, dir, target, seconds, CONNECTIONS);
    for (const path of PROFILE ? running.slice(1) : [])
      if (path.gateways) Object.assign(profile, await profilePath(path, load, SECONDS));
    await stopAll();
    const routes = {
      weft: [await weftRoutesMemory(dir, m, 1), await weftRoutesMemory(dir, m, ROUTES)],
      nginx: [await nginxRoutesMemory(nginx, dir, m, 1), await nginxRoutesMemory(nginx, dir, m, ROUTES)],
      runtime: await runtimeMemory(),
    };
    const paths = Object.fromEntries(measured.map((p) => [p.name, p])) as Measured;
    const r = ratios(paths);
    printReport(paths, r, routes, RATE);
    for (const [label, summary] of Object.entries(profile)) printProfile(label, summary);
    const file = await writeResults('dataplane', {
      settings: {
        seconds: SECONDS,
        rounds: ROUNDS,
        rate: RATE,
        connections: CONNECTIONS,
        routes: ROUTES,
        loadGenerator: wrk ? 'wrk' : 'node',
      },
      targets: TARGETS,
      ratios: r,
      paths,
      routesMemory: routes,
      ...(PROFILE ? { profile } : {}),
    });
    console.log(`\nwrote ${file}`);
  } finally {
    process.off('SIGINT', onSignal);
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}
