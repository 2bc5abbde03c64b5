import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRateLimiter } from '../../../functions/aws/dynamodb-rate-limiter.js';
import { ensureTable } from '../../../functions/aws/dynamodb-state-store.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../../functions/local/embedded-dynamodb.js';
import { RateLimitedError, UnavailableError } from '../../../shared/model/errors.js';

const TABLE = 'weft-rate-limits';
let db: EmbeddedDynamoDb;
let next = 0;
const source = () => `198.51.100.${++next}`;

beforeAll(async () => {
  db = await startEmbeddedDynamoDb({});
  await ensureTable(db.client, TABLE);
});
afterAll(async () => {
  await db?.close();
});

const limiter = (options: { limit: number; windowMs?: number; now?: () => number; name?: string }) =>
  new DynamoDbRateLimiter({ client: db.client, tableName: TABLE, windowMs: 60_000, ...options });

describe('DynamoDbRateLimiter on dynalite', () => {
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

  it('lets exactly limit of 20 parallel takes through', async () => {
    const [a, b] = [limiter({ limit: 5 }), limiter({ limit: 5 })];
    const ip = source();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take(ip)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RateLimitedError);
  });

  it('starts over in the next window', async () => {
    let now = 7_200_000;
    const limits = limiter({ limit: 1, now: () => now });
    const ip = source();
    await limits.take(ip);
    await expect(limits.take(ip)).rejects.toBeInstanceOf(RateLimitedError);
    now += 60_000;
    await limits.take(ip);
  });

  it('keeps limiters of different names apart on one table', async () => {
    const ip = source();
    await limiter({ limit: 1, name: 'attest' }).take(ip);
    await limiter({ limit: 1, name: 'svid' }).take(ip);
    await expect(limiter({ limit: 1, name: 'attest' }).take(ip)).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('reports a missing table as UnavailableError, and refuses bad options', async () => {
    const missing = new DynamoDbRateLimiter({
      client: db.client,
      tableName: 'nope',
      limit: 1,
      windowMs: 1000,
    });
    await expect(missing.take(source())).rejects.toBeInstanceOf(UnavailableError);
    expect(() => limiter({ limit: 0 })).toThrow(TypeError);
    expect(() => limiter({ limit: 1, windowMs: 0 })).toThrow(TypeError);
    expect(() => limiter({ limit: 1, name: 'Bad/Name' })).toThrow(TypeError);
  });
});
