/**
 * Latency at a fixed rate, which wrk cannot do: an open-loop client that
 * starts request `i` at `i / rate` seconds whatever the earlier ones are
 * doing (a 1 ms timer catching up on what is due), over an undici keep-alive
 * pool, and times each from the moment it was sent. Bounded: exactly
 * `rate * seconds` requests, and a hard stop 15 s after the last is due.
 * The client's own scheduling lag is reported so a busy machine shows.
 *
 * @module
 */
import { Pool } from 'undici';
import { percentile, round } from '../harness.js';
import type { Target } from './wrk.js';

/** One fixed-rate run. */
export interface FixedRateResult {
  readonly rate: number;
  readonly sent: number;
  /** 2xx answers; only these are timed. */
  readonly ok: number;
  /** Other answers, failures, and requests unanswered at the hard stop. */
  readonly failed: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How late the client started requests (p99): high means the client, not the path, was starved. */
  readonly clientLagP99Ms: number;
}

/** Sends `rate` requests a second to `target` for `seconds`. */
export async function runFixedRate(target: Target, rate = 1000, seconds = 10): Promise<FixedRateResult> {
  const total = rate * seconds;
  const pool = new Pool(target.origin, { connections: 64, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  const lags = new Float64Array(total);
  let failed = 0;
  let finished = 0;
  let sent = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const hardStop = setTimeout(resolve, (seconds + 15) * 1000);
    const settle = () => {
      if (++finished === total) {
        clearTimeout(hardStop);
        resolve();
      }
    };
    const fire = (i: number) => {
      const t = performance.now();
      lags[i] = t - (started + (i * 1000) / rate);
      pool.request({ method: 'GET', path: '/', headers: target.headers, headersTimeout: 10_000 }).then(
        async (res) => {
          await res.body.dump();
          if (res.statusCode < 300) latencies.push(performance.now() - t);
          else failed++;
          settle();
        },
        () => {
          failed++;
          settle();
        },
      );
    };
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
      while (sent < due) fire(sent++);
      if (sent >= total) clearInterval(timer);
    }, 1);
  });
  await pool.destroy();
  latencies.sort((a, b) => a - b);
  lags.sort();
  return {
    rate,
    sent,
    ok: latencies.length,
    failed: failed + (total - finished),
    p50Ms: round(percentile(latencies, 0.5), 3),
    p90Ms: round(percentile(latencies, 0.9), 3),
    p99Ms: round(percentile(latencies, 0.99), 3),
    maxMs: round(latencies.at(-1) ?? 0, 3),
    clientLagP99Ms: round(percentile(lags, 0.99), 3),
  };
}
