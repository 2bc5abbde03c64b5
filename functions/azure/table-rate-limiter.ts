/**
 * The `RateLimiter` on Azure Tables: a fixed-window counter per limiter and
 * source, shared by every function instance, so a caller cannot multiply
 * its limit by the number of warm instances. One entity per source,
 * partition `rate-limit`, row key `<limiter name>|<source>` (the source as
 * {@link tableRowKey} makes it), holding `windowStart` (epoch ms) and
 * `count`.
 *
 * In a table of its own, not the state table, for the join-token store's
 * reason: the state store's reads list every entity of its table, and
 * these are no resources. (Its own partition also lets it share a table
 * with the join-token store and the replay cache.)
 *
 * A request reads the entity and writes it back under the read's ETag:
 * `count + 1` in the same window, `1` when the window it holds is over, so
 * the entity of an expired window is reused rather than left behind (Azure
 * Tables has no TTL). A racer that wrote first makes the write fail with
 * 412 and the request reads again; Azure applies one write per ETag, so
 * racing requests never overshoot. Every lost race is another request's
 * counted write, so after at most `limit` of them the count is at the limit
 * and the request is refused: the retries are bounded by the limit.
 *
 * @module
 */
import type { TableClient } from '@azure/data-tables';
import { type RateLimiter, rateLimited } from '../../shared/identity/attestation/rate-limiter.js';
import { isLostRace, toStoreError } from './table-errors.js';
import { tableRowKey } from './table-replay-cache.js';

/** The partition of rate-limit counters. */
export const RATE_LIMIT_PARTITION = 'rate-limit';

/** Configuration of {@link AzureTableRateLimiter}. */
export interface AzureTableRateLimiterOptions {
  /** A client for the rate-limit table (see `ensureAzureTable`). */
  readonly client: TableClient;
  /** Names the limiter in its keys, so two limiters (attest, SVID) on one table count apart. */
  readonly name: string;
  /** Requests allowed per source and window. */
  readonly limit: number;
  readonly windowMs: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * @example
 * const attestLimiter = new AzureTableRateLimiter({ client, name: 'attest', limit: 30, windowMs: 60_000 });
 * await attestLimiter.take(sourceIp); // throws RateLimitedError past 30 a minute, across instances
 */
export class AzureTableRateLimiter implements RateLimiter {
  readonly #o: AzureTableRateLimiterOptions;

  constructor(options: AzureTableRateLimiterOptions) {
    if (!options.client) throw new TypeError('AzureTableRateLimiter needs a TableClient');
    if (!Number.isInteger(options.limit) || options.limit < 1)
      throw new TypeError('limit must be a positive integer');
    if (!(options.windowMs > 0)) throw new TypeError('windowMs must be positive');
    if (typeof options.name !== 'string' || !/^[a-z0-9-]{1,32}$/.test(options.name))
      throw new TypeError('name must be 1-32 of a-z, 0-9, -');
    this.#o = options;
  }

  /**
   * @throws RateLimitedError when `source` is over its limit in this window.
   * @throws UnavailableError when Azure Tables cannot be reached.
   */
  async take(source: string): Promise<void> {
    const { client, name, limit, windowMs } = this.#o;
    const now = (this.#o.now ?? Date.now)();
    const start = now - (now % windowMs);
    const key = { partitionKey: RATE_LIMIT_PARTITION, rowKey: `${name}|${tableRowKey(source)}` };
    // A lost race is someone else's counted write: past `limit` of them the count is at the limit.
    for (let attempt = 0; attempt <= limit + 1; attempt++) {
      let held: { windowStart?: unknown; count?: unknown; etag: string } | undefined;
      try {
        held = await client.getEntity(key.partitionKey, key.rowKey);
      } catch (error) {
        if (!isLostRace(error)) throw toStoreError(error, client.tableName);
      }
      if (!held) {
        try {
          await client.createEntity({ ...key, windowStart: String(start), count: 1 });
          return;
        } catch (error) {
          if (!isLostRace(error)) throw toStoreError(error, client.tableName);
          continue;
        }
      }
      const heldStart = Number(held.windowStart);
      const count = Number(held.count);
      // A later window than ours comes from an instance whose clock is ahead: count in it all the same.
      const current = Number.isSafeInteger(heldStart) && Number.isSafeInteger(count) && heldStart >= start;
      if (current && count >= limit) throw rateLimited(heldStart + windowMs - now);
      const next = current
        ? { windowStart: String(heldStart), count: count + 1 }
        : { windowStart: String(start), count: 1 };
      try {
        await client.updateEntity({ ...key, ...next }, 'Replace', { etag: held.etag });
        return;
      } catch (error) {
        if (!isLostRace(error)) throw toStoreError(error, client.tableName);
      }
    }
    // Unreachable short of clocks that disagree on the window: refuse rather than count past the limit.
    throw rateLimited(start + windowMs - now);
  }
}
