/**
 * A per-source fixed-window rate limiter for the attest endpoint: attestation
 * does signature checks and outbound calls (STS, JWKS), so one caller must
 * not be able to make the control plane do them in bulk.
 *
 * @module
 */
import { RateLimitedError } from '../../model/errors.js';

/**
 * The `RateLimiter` port: counts one request from a source and refuses it
 * when the source is over its limit. In one process the
 * {@link FixedWindowRateLimiter}; across function instances a counter in
 * the cloud's document store (a conditional update per window), so a caller
 * cannot multiply its limit by the number of warm instances.
 */
export interface RateLimiter {
  /** @throws RateLimitedError when `source` is over its limit. */
  take(source: string): void | Promise<void>;
}

/** The message and `Retry-After` of a refusal, shared by every {@link RateLimiter}. */
export function rateLimited(retryAfterMs: number): RateLimitedError {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new RateLimitedError(`too many attestation attempts; retry in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
  });
}

/** The answer of {@link FixedWindowRateLimiter.check}. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly remaining: number;
  /** Milliseconds until the window resets (send as `Retry-After`). */
  readonly retryAfterMs: number;
}

/** Configuration of {@link FixedWindowRateLimiter}. */
export interface FixedWindowRateLimiterOptions {
  /** Requests allowed per source and window. */
  readonly limit: number;
  readonly windowMs: number;
  /** Sources tracked at once; the oldest windows are dropped beyond it. @default 10_000 */
  readonly maxSources?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Counts requests per source (an IP, a token hash) in fixed windows, in memory. */
export class FixedWindowRateLimiter implements RateLimiter {
  readonly #options: FixedWindowRateLimiterOptions;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(options: FixedWindowRateLimiterOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1)
      throw new TypeError('limit must be a positive integer');
    if (!(options.windowMs > 0)) throw new TypeError('windowMs must be positive');
    this.#options = options;
  }

  /** Counts one request from `source` and says whether it may go ahead. */
  check(source: string): RateLimitDecision {
    const { limit, windowMs, maxSources = 10_000 } = this.#options;
    const now = (this.#options.now ?? Date.now)();
    const start = now - (now % windowMs);
    let window = this.#windows.get(source);
    if (!window || window.start !== start) {
      this.#windows.delete(source);
      window = { start, count: 0 };
      this.#windows.set(source, window);
      for (const oldest of this.#windows.keys()) {
        if (this.#windows.size <= maxSources) break;
        this.#windows.delete(oldest);
      }
    }
    window.count += 1;
    const retryAfterMs = start + windowMs - now;
    return { allowed: window.count <= limit, remaining: Math.max(0, limit - window.count), retryAfterMs };
  }

  /**
   * Like {@link check}, but throws.
   *
   * @throws RateLimitedError when `source` is over its limit.
   */
  take(source: string): void {
    const decision = this.check(source);
    if (!decision.allowed) throw rateLimited(decision.retryAfterMs);
  }
}
