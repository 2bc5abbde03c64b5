/** AzureTableRateLimiter on azurite's Table service: counts across instances, races, windows. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureTableRateLimiter, RATE_LIMIT_PARTITION } from '../../../functions/azure/table-rate-limiter.js';
import { ensureAzureTable } from '../../../functions/azure/table-state-store.js';
import { RateLimitedError, UnavailableError } from '../../../shared/model/errors.js';
import { type Azurite, startAzurite } from '../../support/azurite.js';

const TABLE = 'weftratelimits';
let azurite: Azurite;
let next = 0;
const source = () => `198.51.100.${++next}`;

beforeAll(async () => {
  azurite = await startAzurite();
  await ensureAzureTable(azurite.client(TABLE));
});
afterAll(async () => {
  await azurite?.stop();
});

/** A limiter with a client of its own: what one warm function instance holds. */
const limiter = (options: { limit: number; windowMs?: number; now?: () => number; name?: string }) =>
  new AzureTableRateLimiter({ client: azurite.client(TABLE), name: 'attest', windowMs: 60_000, ...options });

describe('AzureTableRateLimiter on azurite', () => {
  it('counts a source across instances, and says when to retry', async () => {
    const now = () => 3_600_000 + 15_000;
    const [a, b] = [limiter({ limit: 3, now }), limiter({ limit: 3, now })];
    const ip = source();
    await a.take(ip);
    await b.take(ip);
    await a.take(ip);
    const refused = await b.take(ip).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterSeconds).toBe(45);
    await a.take(source()); // another source has its own count
  });

  it('lets exactly limit of 20 parallel takes from two instances through', async () => {
    const [a, b] = [limiter({ limit: 5 }), limiter({ limit: 5 })];
    const ip = source();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take(ip)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RateLimitedError);
  });

  it('starts over in the next window, reusing the entity, exactly limit times when racing', async () => {
    let now = 7_200_000;
    const [a, b] = [limiter({ limit: 2, now: () => now }), limiter({ limit: 2, now: () => now })];
    const ip = source();
    await a.take(ip);
    await b.take(ip);
    await expect(a.take(ip)).rejects.toBeInstanceOf(RateLimitedError);
    now += 60_000;
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).take(ip)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const rows = [];
    const client = azurite.client(TABLE);
    for await (const row of client.listEntities({ queryOptions: { filter: `RowKey eq 'attest|${ip}'` } }))
      rows.push(row);
    expect(rows).toStrictEqual([
      expect.objectContaining({ partitionKey: RATE_LIMIT_PARTITION, windowStart: String(now), count: 2 }),
    ]);
  });

  it('keeps limiters of different names apart on one table, and takes any source', async () => {
    const ip = source();
    await limiter({ limit: 1, name: 'attest' }).take(ip);
    await limiter({ limit: 1, name: 'svid' }).take(ip);
    await expect(limiter({ limit: 1, name: 'attest' }).take(ip)).rejects.toBeInstanceOf(RateLimitedError);
    const odd = `token/${'#'.repeat(300)}`;
    await limiter({ limit: 1 }).take(odd);
    await expect(limiter({ limit: 1 }).take(odd)).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('reports a missing table or unreachable Azure Tables as UnavailableError, and refuses bad options', async () => {
    const missing = new AzureTableRateLimiter({
      client: azurite.client('weftnope'),
      name: 'attest',
      limit: 1,
      windowMs: 1000,
    });
    await expect(missing.take(source())).rejects.toBeInstanceOf(UnavailableError);
    const stopped = await startAzurite();
    await stopped.stop();
    const unreachable = new AzureTableRateLimiter({
      client: stopped.client(TABLE),
      name: 'attest',
      limit: 1,
      windowMs: 1000,
    });
    await expect(unreachable.take(source())).rejects.toThrow(/cannot reach Azure Tables/);
    expect(() => limiter({ limit: 0 })).toThrow(TypeError);
    expect(() => limiter({ limit: 1, windowMs: 0 })).toThrow(TypeError);
    expect(() => limiter({ limit: 1, name: 'Bad/Name' })).toThrow(TypeError);
  });
});
