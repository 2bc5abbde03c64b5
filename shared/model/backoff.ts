/**
 * Timing for the control loops: jitter, so a thousand agents restarted
 * together do not poll in lockstep, and capped exponential backoff, so an
 * outage is not met with a retry storm and recovery is noticed within one
 * cap.
 *
 * @module
 */

/** A source of uniform numbers in [0, 1). Injectable for tests. */
export type Random = () => number;

/** `ms` spread uniformly over ±`spread` (0.2: ±20 %). */
export function jittered(ms: number, random: Random = Math.random, spread = 0.2): number {
  return Math.round(ms * (1 - spread + 2 * spread * random()));
}

/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** The first delay. */
  readonly baseMs: number;
  /** No delay is longer (before jitter). */
  readonly capMs: number;
  /** @default Math.random */
  readonly random?: Random;
}

/**
 * Delays that double from `baseMs` up to `capMs`, each jittered ±20 %.
 *
 * @example
 * const backoff = new Backoff({ baseMs: 1_000, capMs: 30_000 });
 * backoff.next(); // ~1 s, then ~2 s, ~4 s ... ~30 s; reset() after a success
 */
export class Backoff {
  readonly #o: BackoffOptions;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    if (!(options.baseMs > 0 && options.capMs >= options.baseMs))
      throw new TypeError('Backoff needs 0 < baseMs <= capMs');
    this.#o = options;
  }

  /** The delay before the next attempt. */
  next(): number {
    const ms = Math.min(this.#o.capMs, this.#o.baseMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return jittered(ms, this.#o.random);
  }

  /** Failures in a row so far. */
  get failures(): number {
    return this.#attempt;
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
