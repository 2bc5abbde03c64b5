/**
 * Where a Node gateway's time goes, from V8 CPU profiles taken in process
 * over one saturated run (after a warm-up): self time by area (weft's data
 * plane, undici, pino, prom-client, node's http/streams/events internals,
 * native calls, GC), the top functions by self time, and weft's own
 * functions by inclusive time (what each step costs with all it calls).
 * Figures are microseconds per request, so weft and the bare-Node floor
 * compare directly.
 *
 * Caveat: V8 samples wall time on the main thread. On a loaded machine a
 * write that wakes the peer often loses the CPU, and that wait lands on the
 * native write frame: native figures overstate CPU, JavaScript ones do not.
 *
 * @module
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { round } from '../harness.js';
import type { PathUnderTest } from './paths.js';
import type { SaturatedResult, Target } from './wrk.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Time of one function or area: µs per request, and share of the sampled non-idle time. */
export interface Cost {
  readonly name: string;
  readonly usPerRequest: number;
  readonly percent: number;
}

/** Where one process spent its time. */
export interface ProfileSummary {
  readonly requests: number;
  /** Sampled non-idle wall time per request, µs. */
  readonly busyUsPerRequest: number;
  readonly areas: readonly Cost[];
  readonly selfTime: readonly Cost[];
  /** weft's own functions (agents/, shared/), time including what they call. */
  readonly weftInclusive: readonly Cost[];
}

/** Which part of the stack a frame belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.includes('/agents/gateway/dataplane/')) return 'weft dataplane';
  if (url.includes('/shared/')) return 'weft shared';
  if (url.startsWith('wasm://')) return 'wasm (llhttp)';
  const internal = /^node:(?:internal\/)?([^/]+)/.exec(url);
  return internal ? `node:${internal[1]}` : url.replace(/^.*\//, '');
}

const frameName = (f: ProfileNode['callFrame']) =>
  `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(/^.*\/(node_modules|agents|shared|bench)\//, '$1/')}:${f.lineNumber + 1}` : ''}`.trim();

const isWeft = (url: string) => /\/(agents|shared)\//.test(url) && !url.includes('node_modules');

/** Summarizes one profile taken over `requests` requests. */
export function summarize(profile: CpuProfile, requests: number, n = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    const us = profile.timeDeltas[i] ?? 0;
    if (!frame || frame.functionName === '(idle)') return;
    busy += us;
    self.set(frameName(frame), (self.get(frameName(frame)) ?? 0) + us);
    const area = areaOf(frame.url, frame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!isWeft(f.url) || seen.has(frameName(f))) continue;
      seen.add(frameName(f));
      inclusive.set(frameName(f), (inclusive.get(frameName(f)) ?? 0) + us);
    }
  });
  const top = (totals: Map<string, number>): Cost[] =>
    [...totals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({
        name,
        usPerRequest: round(us / Math.max(requests, 1), 1),
        percent: round((100 * us) / Math.max(busy, 1), 1),
      }));
  return {
    requests,
    busyUsPerRequest: round(busy / Math.max(requests, 1), 1),
    areas: top(areas),
    selfTime: top(self),
    weftInclusive: top(inclusive),
  };
}

/**
 * Profiles every gateway process of `path` through one saturated run of
 * `seconds` (after a 3 s warm-up) and summarizes each. The profiles stay in
 * `bench/results/dataplane-<gateway>.cpuprofile` for Chrome DevTools.
 */
export async function profilePath(
  path: PathUnderTest,
  load: (target: Target, seconds: number) => Promise<SaturatedResult>,
  seconds: number,
): Promise<Record<string, ProfileSummary>> {
  const gateways = path.gateways ?? [];
  await load(path.target, 3);
  await Promise.all(gateways.map((g) => g.startProfile()));
  const { requests } = await load(path.target, seconds);
  const out: Record<string, ProfileSummary> = {};
  const dir = join(import.meta.dirname, '..', 'results');
  await mkdir(dir, { recursive: true });
  for (const g of gateways) {
    const file = join(dir, `dataplane-${g.label}.cpuprofile`);
    await g.stopProfile(file);
    out[g.label] = summarize(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, requests);
  }
  return out;
}

/** Prints one summary. */
export function printProfile(label: string, s: ProfileSummary): void {
  const list = (title: string, costs: readonly Cost[]) => {
    console.log(`  ${title}`);
    for (const c of costs)
      console.log(
        `  ${String(c.usPerRequest).padStart(7)} µs/req ${String(c.percent).padStart(5)} %  ${c.name}`,
      );
  };
  console.log(`\nCPU profile of ${label}: ${s.busyUsPerRequest} µs/req sampled over ${s.requests} requests`);
  list('self time by area:', s.areas);
  list('top functions, self time:', s.selfTime);
  if (s.weftInclusive.length) list("weft's functions, inclusive time:", s.weftInclusive);
}
