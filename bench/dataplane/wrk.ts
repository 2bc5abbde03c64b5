/**
 * Saturated throughput: wrk with one thread and 32 keep-alive connections
 * for a fixed time, every request carrying the same headers (the service
 * Host and the workload's JWT-SVID) on every path. A Lua `done` hook prints
 * wrk's summary as JSON. When wrk cannot be had, a bounded closed-loop Node
 * client (undici, same connections and time) stands in, and says so.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import { percentile, round } from '../harness.js';

/** Where a path's requests go, and what they carry. */
export interface Target {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** One saturated run. */
export interface SaturatedResult {
  readonly tool: 'wrk' | 'node';
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Connect, read, write errors and timeouts. */
  readonly errors: number;
  /** Answers outside 2xx/3xx. */
  readonly non2xx: number;
}

const DONE_LUA = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
`;

/** Runs wrk against `target` for `seconds` with `connections`. */
export async function runWrk(
  wrk: string,
  dir: string,
  target: Target,
  seconds: number,
  connections = 32,
): Promise<SaturatedResult> {
  const script = join(dir, 'done.lua');
  await writeFile(script, DONE_LUA);
  const headers = Object.entries(target.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    '-s',
    script,
    ...headers,
    `${target.origin}/`,
  ];
  const { stdout } = await promisify(execFile)(wrk, args, { timeout: (seconds + 30) * 1000 });
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`wrk said nothing usable:\n${stdout}`);
  const r = JSON.parse(line.slice(9)) as Record<string, number>;
  const secs = r.durationUs! / 1e6;
  return {
    tool: 'wrk',
    requests: r.requests!,
    seconds: round(secs, 3),
    requestsPerSecond: round(r.requests! / secs, 1),
    p50Ms: round(r.p50Us! / 1000, 3),
    p99Ms: round(r.p99Us! / 1000, 3),
    errors: r.errors!,
    non2xx: r.non2xx!,
  };
}

/** The stand-in for wrk: `connections` closed loops for `seconds`, no more than 2M requests. */
export async function runNodeSaturated(
  target: Target,
  seconds: number,
  connections = 32,
): Promise<SaturatedResult> {
  const pool = new Pool(target.origin, { connections });
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < until && latencies.length < 2_000_000) {
      const t = performance.now();
      try {
        const res = await pool.request({
          method: 'GET',
          path: '/',
          headers: target.headers,
          headersTimeout: 5_000,
        });
        await res.body.dump();
        if (res.statusCode >= 400) non2xx++;
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const secs = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    tool: 'node',
    requests: latencies.length,
    seconds: round(secs, 3),
    requestsPerSecond: round(latencies.length / secs, 1),
    p50Ms: round(percentile(latencies, 0.5), 3),
    p99Ms: round(percentile(latencies, 0.99), 3),
    errors,
    non2xx,
  };
}

/** wrk when there is one, else the Node stand-in. */
export function saturate(
  wrk: string | undefined,
  dir: string,
  target: Target,
  seconds: number,
  connections = 32,
): Promise<SaturatedResult> {
  return wrk
    ? runWrk(wrk, dir, target, seconds, connections)
    : runNodeSaturated(target, seconds, connections);
}
