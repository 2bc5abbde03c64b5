/**
 * A retry budget (Linkerd's, Finagle's): retries may add at most `ratio`
 * of the calls seen in the last `windowMs`, plus a floor of
 * `minPerSecond` so a quiet service can still retry. It stops the retry
 * storms that per-call attempt limits alone allow when a whole environment
 * fails under load.
 *
 * @module
 */

/** Options of {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries per original call, over the window. @default 0.2 */
  readonly ratio?: number;
  /** Retries always allowed per second. @default 10 */
  readonly minPerSecond?: number;
  /** @default 10_000 */
  readonly windowMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const BUCKET_MS = 1000;

/** Calls and retries in one-second buckets over a sliding window. */
export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #now: () => number;
  readonly #calls: number[];
  readonly #retries: number[];
  #bucket = -1;

  constructor(options: RetryBudgetOptions = {}) {
    this.#ratio = options.ratio ?? 0.2;
    const buckets = Math.max(1, Math.round((options.windowMs ?? 10_000) / BUCKET_MS));
    this.#floor = (options.minPerSecond ?? 10) * buckets;
    this.#now = options.now ?? Date.now;
    this.#calls = new Array(buckets).fill(0);
    this.#retries = new Array(buckets).fill(0);
  }

  /** Counts an original call (not a retry). */
  deposit(): void {
    this.#calls[this.#roll()]! += 1;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryWithdraw(): boolean {
    const slot = this.#roll();
    const calls = this.#calls.reduce((a, b) => a + b, 0);
    const retries = this.#retries.reduce((a, b) => a + b, 0);
    if (retries >= this.#floor + this.#ratio * calls) return false;
    this.#retries[slot]! += 1;
    return true;
  }

  /** Moves the window to now, zeroing the buckets it passed; returns the current slot. */
  #roll(): number {
    const bucket = Math.floor(this.#now() / BUCKET_MS);
    const size = this.#calls.length;
    if (this.#bucket === -1 || bucket - this.#bucket >= size) {
      this.#calls.fill(0);
      this.#retries.fill(0);
    } else {
      for (let b = this.#bucket + 1; b <= bucket; b++) {
        this.#calls[b % size] = 0;
        this.#retries[b % size] = 0;
      }
    }
    this.#bucket = Math.max(this.#bucket, bucket);
    return this.#bucket % size;
  }
}
