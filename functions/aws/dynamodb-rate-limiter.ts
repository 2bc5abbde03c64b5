/**
 * The `RateLimiter` on DynamoDB: a fixed-window counter per source and
 * window in the state table (`pk` = `_rate-limit`, `sk` =
 * `<limiter name>/<window start>/<source>`), shared by every function instance, so a caller
 * cannot multiply its limit by the number of warm Lambdas. Each request is
 * one `UpdateItem` that adds 1 only while the count is under the limit;
 * DynamoDB applies the conditions of one item one at a time, so racing
 * requests never overshoot.
 *
 * @module
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type RateLimiter, rateLimited } from '../../shared/identity/attestation/rate-limiter.js';
import { toStoreError } from './dynamodb-errors.js';

/** The partition of rate-limit windows. `_` sorts apart from every kind, which starts upper-case. */
export const RATE_LIMIT_PARTITION = '_rate-limit';

/** Configuration of {@link DynamoDbRateLimiter}. */
export interface DynamoDbRateLimiterOptions {
  readonly client: DynamoDBClient;
  /** The state table (`pk`/`sk` string keys; see `ensureTable`). */
  readonly tableName: string;
  /** Requests allowed per source and window. */
  readonly limit: number;
  readonly windowMs: number;
  /**
   * Names the limiter in its keys, so two limiters (attest, SVID) on one
   * table count apart. @default 'default'
   */
  readonly name?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * @example
 * const attestLimiter = new DynamoDbRateLimiter({ client, tableName, name: 'attest', limit: 30, windowMs: 60_000 });
 * await attestLimiter.take(sourceIp); // throws RateLimitedError past 30 a minute, across instances
 */
export class DynamoDbRateLimiter implements RateLimiter {
  readonly #o: DynamoDbRateLimiterOptions;
  readonly #name: string;

  constructor(options: DynamoDbRateLimiterOptions) {
    if (!options.tableName) throw new TypeError('DynamoDbRateLimiter needs a tableName');
    if (!Number.isInteger(options.limit) || options.limit < 1)
      throw new TypeError('limit must be a positive integer');
    if (!(options.windowMs > 0)) throw new TypeError('windowMs must be positive');
    this.#name = options.name ?? 'default';
    if (!/^[a-z0-9-]{1,32}$/.test(this.#name)) throw new TypeError('name must be 1-32 of a-z, 0-9, -');
    this.#o = options;
  }

  /**
   * @throws RateLimitedError when `source` is over its limit in this window.
   * @throws UnavailableError when DynamoDB cannot be reached.
   */
  async take(source: string): Promise<void> {
    const { client, tableName, limit, windowMs } = this.#o;
    const now = (this.#o.now ?? Date.now)();
    const start = now - (now % windowMs);
    const end = start + windowMs;
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: {
            pk: { S: RATE_LIMIT_PARTITION },
            // A source is an IP or a hash: short, but cap it to stay within the 1 KiB sort key.
            sk: { S: `${this.#name}/${start}/${source.slice(0, 256)}` },
          },
          UpdateExpression: 'ADD #count :one SET expiresAt = :end, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count', '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':limit': { N: String(limit) },
            ':end': { N: String(end) },
            ':ttl': { N: String(Math.ceil(end / 1000)) },
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw rateLimited(end - now);
      throw toStoreError(error, tableName);
    }
  }
}
