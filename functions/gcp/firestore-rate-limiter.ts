/**
 * The `RateLimiter` on Firestore: a fixed-window counter per source and
 * window in a collection of its own (default `weft-rate-limits`; document
 * id `<limiter name>~<window start>~<source>`, see `keyDocumentId`), shared
 * by every function instance, so a caller cannot multiply its limit by the
 * number of warm instances.
 *
 * A request reads the counter and writes it one higher, conditional on what
 * it read: `create()` when there is none (refused if one appeared), else
 * `update()` with the read's `lastUpdateTime` (refused if another request
 * counted in between). A refused write reads again. Every refusal means
 * another request was counted, and no more than `limit` are per window, so
 * racing requests never overshoot and each reads at most `limit + 1` times.
 * No transactions: preconditions never contend.
 *
 * Documents carry `count` and `expireAt` (a Timestamp, the window's end):
 * the deployment's TTL policy on `expireAt` for this collection deletes past
 * windows.
 *
 * @module
 */
import { Timestamp } from '@google-cloud/firestore';
import { type RateLimiter, rateLimited } from '../../shared/identity/attestation/rate-limiter.js';
import type { FirestoreClient, FirestoreCollection } from './firestore-client.js';
import { checkCollectionId, keyDocumentId } from './firestore-document.js';
import { toStoreError, wonRace } from './firestore-errors.js';

/** Configuration of {@link FirestoreRateLimiter}. */
export interface FirestoreRateLimiterOptions {
  /** A `Firestore` client (anything with its shape: see {@link FirestoreClient}). */
  readonly firestore: FirestoreClient;
  /** The collection of counters; limiters of different names share it. @default 'weft-rate-limits' */
  readonly collection?: string;
  /** Names the limiter in its document ids, so two limiters (attest, SVID) count apart. */
  readonly name: string;
  /** Requests allowed per source and window. */
  readonly limit: number;
  readonly windowMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * @example
 * const attestLimiter = new FirestoreRateLimiter({ firestore, name: 'attest', limit: 30, windowMs: 60_000 });
 * await attestLimiter.take(sourceIp); // throws RateLimitedError past 30 a minute, across instances
 */
export class FirestoreRateLimiter implements RateLimiter {
  readonly #counters: FirestoreCollection;
  readonly #collection: string;
  readonly #o: FirestoreRateLimiterOptions;

  constructor(options: FirestoreRateLimiterOptions) {
    if (!options.firestore) throw new TypeError('FirestoreRateLimiter needs a Firestore client');
    if (!Number.isInteger(options.limit) || options.limit < 1)
      throw new TypeError('limit must be a positive integer');
    if (!(options.windowMs > 0)) throw new TypeError('windowMs must be positive');
    if (!/^[a-z0-9-]{1,32}$/.test(options.name ?? ''))
      throw new TypeError('name must be 1-32 of a-z, 0-9, -');
    this.#collection = options.collection ?? 'weft-rate-limits';
    checkCollectionId('FirestoreRateLimiter', this.#collection);
    this.#counters = options.firestore.collection(this.#collection);
    this.#o = options;
  }

  /**
   * @throws RateLimitedError when `source` is over its limit in this window.
   * @throws UnavailableError when Firestore cannot be reached.
   */
  async take(source: string): Promise<void> {
    const { name, limit, windowMs } = this.#o;
    const now = (this.#o.now ?? Date.now)();
    const start = now - (now % windowMs);
    const end = start + windowMs;
    const ref = this.#counters.doc(keyDocumentId(`${name}~${start}~${source}`));
    const expireAt = Timestamp.fromMillis(end);
    try {
      for (let round = 0; round <= limit; round++) {
        const snapshot = await ref.get();
        const lastUpdateTime = snapshot.exists ? snapshot.updateTime : undefined;
        const count = lastUpdateTime ? snapshot.data()?.count : 0;
        // Not a count (edited by hand?): refuse rather than let the source through unlimited.
        if (!Number.isInteger(count) || count >= limit) break;
        const counted = lastUpdateTime
          ? await wonRace(() => ref.update({ count: count + 1, expireAt }, { lastUpdateTime }))
          : await wonRace(() => ref.create({ count: 1, expireAt }));
        if (counted) return;
      }
    } catch (error) {
      throw toStoreError(error, this.#collection);
    }
    throw rateLimited(end - now);
  }
}
