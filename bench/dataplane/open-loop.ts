/**
 * Latency at a fixed rate, which wrk cannot do: an open-loop client that
 * starts request `i` at `i / rate` seconds whatever the earlier ones are
 * doing (a 1 ms timer catching up on what is due), over an undici keep-alive
 * pool, and times each from the moment it was sent. Bounded: exactly
 * `rate * seconds` requests a run, and a hard stop 15 s after the last is
 * due. The client's own scheduling lag is kept so a busy machine shows.
 * Runs of one path add up (the benchmark interleaves paths in slices).
 *
 * @module
 */
import { Pool } from 'undici';
import { percentile, round } from '../harness.js';
import type { Target } from './wrk.js';

/** Fixed-rate results of one path, over all its slices. */
export interface FixedRateResult {
  readonly rate: number;
  readonly sent: number;
  /** 2xx answers; only these are timed. */
  readonly ok: number;
  /** Other answers, failures, and requests unanswered at the hard stop. */
  readonly failed: number;
  /** Over every request of every slice. */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /**
   * Each slice's p50 and p99, and their medians: one stall of the shared
   * machine spoils the pooled p99 of whichever path it hit, but only one slice.
   */
  readonly slices: readonly { p50Ms: number; p99Ms: number }[];
  readonly medianSliceP50Ms: number;
  readonly medianSliceP99Ms: number;
  /** How late the client started requests (p99): high means the client, not the path, was starved. */
  readonly clientLagP99Ms: number;
}

/** An open-loop client for one path; `run` it for slices, then `result()`. */
export class OpenLoopClient {
  readonly #target: Target;
  readonly #pool: Pool;
  readonly #latencies: number[] = [];
  /** Where each slice's latencies start in `#latencies`. */
  readonly #starts: number[] = [];
  readonly #lags: number[] = [];
  #sent = 0;
  #failed = 0;
  #rate = 0;

  constructor(target: Target) {
    this.#target = target;
    this.#pool = new Pool(target.origin, { connections: 64, keepAliveTimeout: 30_000 });
  }

  /** Sends `rate` requests a second for `seconds`; resolves when all are answered or the hard stop passes. */
  run(rate: number, seconds: number): Promise<void> {
    this.#rate = rate;
    const total = Math.round(rate * seconds);
    let finished = 0;
    let sent = 0;
    const started = performance.now();
    this.#starts.push(this.#latencies.length);
    return new Promise<void>((resolve) => {
      const hardStop = setTimeout(
        () => {
          this.#failed += total - finished;
          finished = total;
          resolve();
        },
        (seconds + 15) * 1000,
      );
      const settle = (latency?: number) => {
        if (finished >= total) return;
        if (latency === undefined) this.#failed++;
        else this.#latencies.push(latency);
        if (++finished === total) {
          clearTimeout(hardStop);
          resolve();
        }
      };
      const fire = (i: number) => {
        const t = performance.now();
        this.#lags.push(t - (started + (i * 1000) / rate));
        this.#pool
          .request({ method: 'GET', path: '/', headers: this.#target.headers, headersTimeout: 10_000 })
          .then(
            async (res) => {
              await res.body.dump();
              settle(res.statusCode < 300 ? performance.now() - t : undefined);
            },
            () => settle(),
          );
      };
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
        while (sent < due) fire(sent++);
        if (sent >= total) clearInterval(timer);
      }, 1);
      this.#sent += total;
    });
  }

  /** 2xx answers so far, over every run. */
  get answered(): number {
    return this.#latencies.length;
  }

  /** Percentiles over every request of every run. */
  result(): FixedRateResult {
    const latencies = [...this.#latencies].sort((a, b) => a - b);
    const lags = [...this.#lags].sort((a, b) => a - b);
    const slices = this.#starts.map((start, i) => {
      const own = this.#latencies.slice(start, this.#starts[i + 1]).sort((a, b) => a - b);
      return { p50Ms: round(percentile(own, 0.5), 3), p99Ms: round(percentile(own, 0.99), 3) };
    });
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    return {
      rate: this.#rate,
      sent: this.#sent,
      ok: latencies.length,
      failed: this.#failed,
      p50Ms: round(percentile(latencies, 0.5), 3),
      p90Ms: round(percentile(latencies, 0.9), 3),
      p99Ms: round(percentile(latencies, 0.99), 3),
      maxMs: round(latencies.at(-1) ?? 0, 3),
      clientLagP99Ms: round(percentile(lags, 0.99), 3),
      slices,
      medianSliceP50Ms: median(slices.map((x) => x.p50Ms)),
      medianSliceP99Ms: median(slices.map((x) => x.p99Ms)),
    };
  }

  close(): Promise<void> {
    return this.#pool.destroy();
  }
}
