/**
 * When config sync runs: now (start-up, a webhook), then every interval
 * ±20 % jitter, sooner again with capped backoff after a failure (never
 * slower than the interval, so a recovered control plane is noticed within
 * one). Never two runs at once: a trigger during a run asks for one more run
 * after it, so a burst of webhooks costs at most two fetches.
 *
 * @module
 */
import { Backoff, jittered, type Random } from '../../shared/model/backoff.js';

/** Options of {@link PollLoop}. */
export interface PollLoopOptions {
  /** One run; `false` when it failed (backoff applies). */
  readonly run: () => Promise<boolean>;
  readonly intervalMs: number;
  /** @default Math.random */
  readonly random?: Random;
}

/** Runs `run` now and then. */
export class PollLoop {
  readonly #o: PollLoopOptions;
  readonly #backoff: Backoff;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: PollLoopOptions) {
    if (!(options.intervalMs > 0)) throw new TypeError('the poll interval must be positive');
    this.#o = options;
    const baseMs = Math.min(1_000, options.intervalMs);
    this.#backoff = new Backoff({ baseMs, capMs: options.intervalMs, random: options.random });
  }

  /** Runs now (or once more after the run under way); resolves when that run is done. */
  trigger(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    clearTimeout(this.#timer);
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** No more runs; resolves when the one under way is done. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #loop(): Promise<void> {
    let ok: boolean;
    do {
      this.#again = false;
      ok = await this.#o.run();
    } while (this.#again && !this.#closed);
    if (this.#closed) return;
    if (ok) this.#backoff.reset();
    const delay = ok ? jittered(this.#o.intervalMs, this.#o.random) : this.#backoff.next();
    this.#timer = setTimeout(() => void this.trigger(), delay);
  }
}
