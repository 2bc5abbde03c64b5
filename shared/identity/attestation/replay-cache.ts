/**
 * The `ReplayCache` port: remembers proofs already used until they expire,
 * so a captured proof cannot be used twice. Across function instances it
 * must be shared (a conditional put in the cloud's document store); the
 * in-memory one here serves one process and tests.
 *
 * @module
 */
import { UnavailableError } from '../../model/errors.js';

/** Remembers used proofs; see the module comment. */
export interface ReplayCache {
  /**
   * Records `key` until `expiresAt` (epoch ms), atomically.
   *
   * @returns `true` the first time, `false` when `key` is already recorded and unexpired.
   */
  claim(key: string, expiresAt: number): Promise<boolean>;
}

/** Configuration of {@link MemoryReplayCache}. */
export interface MemoryReplayCacheOptions {
  /** @default 100_000 */
  readonly maxEntries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * A bounded in-memory {@link ReplayCache}. When full of unexpired entries it
 * fails closed (refuses to claim) rather than forget a proof.
 */
export class MemoryReplayCache implements ReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: MemoryReplayCacheOptions = {}) {
    this.#max = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  async claim(key: string, expiresAt: number): Promise<boolean> {
    const now = this.#now();
    const seen = this.#seen.get(key);
    if (seen !== undefined && seen > now) return false;
    if (this.#seen.size >= this.#max) {
      for (const [k, exp] of this.#seen) if (exp <= now) this.#seen.delete(k);
      if (this.#seen.size >= this.#max) throw new UnavailableError('replay cache is full; try again later');
    }
    this.#seen.set(key, expiresAt);
    return true;
  }
}
