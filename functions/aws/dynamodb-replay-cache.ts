/**
 * The `ReplayCache` on DynamoDB, in the state table under a partition of its
 * own (`pk` = `_replay`, `sk` = the proof's key), so every function instance
 * shares it: a proof claimed by one Lambda is refused by all the others. A
 * claim is one conditional `PutItem` that wins when no item is there or the
 * one there has expired.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { ReplayCache } from '../../shared/identity/attestation/replay-cache.js';
import { toStoreError } from './dynamodb-errors.js';

/** The partition of claimed proofs. `_` sorts apart from every kind, which starts upper-case. */
export const REPLAY_PARTITION = '_replay';

/** Configuration of {@link DynamoDbReplayCache}. */
export interface DynamoDbReplayCacheOptions {
  readonly client: DynamoDBClient;
  /** The state table (`pk`/`sk` string keys; see `ensureTable`). */
  readonly tableName: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Claimed proofs in DynamoDB. Items carry `expiresAt` (epoch ms, what the
 * condition compares) and `ttl` (epoch seconds) for the table's TTL to sweep
 * them, as the join-token items do; an expired item that lingers is simply
 * claimed again.
 *
 * @example
 * const replayCache = new DynamoDbReplayCache({ client, tableName: 'weft-state' });
 * if (!(await replayCache.claim(`aws_iam:${signature}`, Date.now() + 900_000))) throw replayed();
 */
export class DynamoDbReplayCache implements ReplayCache {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #now: () => number;

  constructor(options: DynamoDbReplayCacheOptions) {
    if (!options.tableName) throw new TypeError('DynamoDbReplayCache needs a tableName');
    this.#client = options.client;
    this.#table = options.tableName;
    this.#now = options.now ?? Date.now;
  }

  /** @throws UnavailableError when DynamoDB cannot be reached: the caller refuses the proof (fails closed). */
  async claim(key: string, expiresAt: number): Promise<boolean> {
    if (typeof key !== 'string' || key.length === 0)
      throw new TypeError('a replay key must be a non-empty string');
    if (!Number.isFinite(expiresAt)) throw new TypeError('expiresAt must be epoch milliseconds');
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: {
            pk: { S: REPLAY_PARTITION },
            sk: { S: sortKey(key) },
            expiresAt: { N: String(Math.ceil(expiresAt)) },
            ttl: { N: String(Math.ceil(expiresAt / 1000)) },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': { N: String(this.#now()) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw toStoreError(error, this.#table);
    }
  }
}

/** The key itself; past 512 bytes (DynamoDB allows 1 KiB of sort key) its SHA-256, which is as unique. */
function sortKey(key: string): string {
  if (Buffer.byteLength(key) <= 512) return key;
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
