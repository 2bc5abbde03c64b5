/**
 * The `JoinTokenStore` on DynamoDB, in the state table under a partition of
 * its own (`pk` = `_join-token`, `sk` = the token's SHA-256), so a
 * deployment needs no second table. A token is spent by one conditional
 * `DeleteItem` that returns what it deleted: two agents racing with the same
 * token cannot both get it, across any number of function instances.
 *
 * @module
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { JoinTokenEntry, JoinTokenStore } from '../../shared/identity/attestation/join-token-store.js';
import { ConflictError } from '../../shared/model/errors.js';
import { toStoreError } from './dynamodb-errors.js';
import type { Item } from './dynamodb-item.js';

/** The partition of join-token hashes. `_` sorts apart from every kind, which starts upper-case. */
export const JOIN_TOKEN_PARTITION = '_join-token';

/** Configuration of {@link DynamoDbJoinTokenStore}. */
export interface DynamoDbJoinTokenStoreOptions {
  readonly client: DynamoDBClient;
  /** The state table (`pk`/`sk` string keys; see `ensureTable`). */
  readonly tableName: string;
}

/**
 * Join-token hashes in DynamoDB. Items carry `ttl` (epoch seconds) so that a
 * table with DynamoDB TTL enabled on `ttl` sweeps tokens nobody used; an
 * expired item that lingers is harmless (a hash, refused as expired).
 *
 * @example
 * const joinTokens = new DynamoDbJoinTokenStore({ client, tableName: 'weft-state' });
 */
export class DynamoDbJoinTokenStore implements JoinTokenStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(options: DynamoDbJoinTokenStoreOptions) {
    if (!options.tableName) throw new TypeError('DynamoDbJoinTokenStore needs a tableName');
    this.#client = options.client;
    this.#table = options.tableName;
  }

  /** @throws ConflictError if the hash is already stored (a 256-bit collision: never, short of a bug). */
  async put(hash: string, entry: JoinTokenEntry): Promise<void> {
    const item: Item = {
      pk: { S: JOIN_TOKEN_PARTITION },
      sk: { S: hash },
      spiffeId: { S: entry.spiffeId },
      expiresAt: { N: String(entry.expiresAt) },
      ttl: { N: String(Math.ceil(entry.expiresAt / 1000)) },
    };
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new ConflictError('a join token with this hash is already stored', undefined, { cause: error });
      }
      throw toStoreError(error, this.#table);
    }
  }

  /** Deletes and returns the entry in one conditional call; `undefined` when never issued or already used. */
  async consume(hash: string): Promise<JoinTokenEntry | undefined> {
    let old: Item | undefined;
    try {
      ({ Attributes: old } = await this.#client.send(
        new DeleteItemCommand({
          TableName: this.#table,
          Key: { pk: { S: JOIN_TOKEN_PARTITION }, sk: { S: hash } },
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_OLD',
        }),
      ));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw toStoreError(error, this.#table);
    }
    const spiffeId = old?.spiffeId?.S;
    const expiresAt = Number(old?.expiresAt?.N);
    // A token whose record is unreadable was spent all the same: it must not work, and it did not.
    if (spiffeId === undefined || !Number.isSafeInteger(expiresAt)) return undefined;
    return { spiffeId, expiresAt };
  }
}
