/**
 * The `StateStore` on DynamoDB: one table, compare-and-set through
 * `ConditionExpression`, nothing else (no transactions, no streams), so it
 * runs unchanged on dynalite for `weft up`. Item layout: `dynamodb-item.ts`.
 *
 * @module
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  paginateQuery,
  paginateScan,
  type QueryCommandInput,
  type ScanCommandInput,
} from '@aws-sdk/client-dynamodb';
import { compareHlc } from '../../shared/model/hlc.js';
import type { Kind, ResourceKey } from '../../shared/model/kinds.js';
import {
  conflictError,
  type Precondition,
  preconditionOf,
  purgePrecondition,
} from '../../shared/storage/compare-and-set.js';
import { matchesSelector } from '../../shared/storage/label-selector.js';
import {
  type ListOptions,
  type PutOptions,
  requireLive,
  type StateStore,
  type StoredRecord,
  tombstone,
  type WriteStamp,
} from '../../shared/storage/state-store.js';
import { toStoreError } from './dynamodb-errors.js';
import { fromItem, type Item, itemKey, namespacePrefix, toItem } from './dynamodb-item.js';

export { type EnsureTableOptions, ensureTable } from './dynamodb-table.js';

export interface DynamoDbStateStoreOptions {
  readonly client: DynamoDBClient;
  /** A table with string keys `pk` (HASH) and `sk` (RANGE); see `ensureTable`. */
  readonly tableName: string;
}

/**
 * Desired mesh state in one DynamoDB table. Every read is strongly consistent,
 * since a compare-and-set is only as good as the version it read.
 *
 * Failures come out as core errors: `ConflictError` (with `cause` and the
 * current version) for a lost compare-and-set, `UnavailableError` for a
 * missing table, throttling, credentials or network, `PayloadTooLargeError`
 * for an item over 400 KB.
 *
 * @example
 * await ensureTable(client, 'weft-state');
 * const store = new DynamoDbStateStore({ client, tableName: 'weft-state' });
 */
export class DynamoDbStateStore implements StateStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: DynamoDbStateStoreOptions) {
    if (!options.tableName) throw new TypeError('DynamoDbStateStore needs a tableName');
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async get(key: ResourceKey): Promise<StoredRecord | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: itemKey(key), ConsistentRead: true }),
      );
      return Item && fromItem(Item);
    } catch (error) {
      throw toStoreError(error, this.tableName);
    }
  }

  async put(record: StoredRecord, options: PutOptions = {}): Promise<void> {
    requireLive(record);
    await this.write(record.key, toItem(record), options);
  }

  async delete(key: ResourceKey, write: WriteStamp, options: PutOptions = {}): Promise<void> {
    await this.write(key, toItem(tombstone(key, write)), options);
  }

  /** One conditional DeleteItem: `#version = :v AND #deleted = :true`. */
  async purge(key: ResourceKey, ifVersion: string): Promise<void> {
    const precondition = purgePrecondition(ifVersion);
    await this.conditionally(key, precondition, (condition) =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: itemKey(key),
          ...condition,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
  }

  async list(kind: Kind, options: ListOptions = {}): Promise<StoredRecord[]> {
    const input: QueryCommandInput = {
      TableName: this.tableName,
      ConsistentRead: true,
      KeyConditionExpression:
        options.namespace === undefined ? 'pk = :kind' : 'pk = :kind AND begins_with(sk, :prefix)',
      FilterExpression: '#deleted = :false',
      ExpressionAttributeNames: { '#deleted': 'deleted' },
      ExpressionAttributeValues: {
        ':kind': { S: kind },
        ':false': { BOOL: false },
        ...(options.namespace !== undefined && { ':prefix': { S: namespacePrefix(options.namespace) } }),
      },
    };
    const records = await this.readAll(paginateQuery({ client: this.client }, input));
    // `sk` order is not namespace-then-name order ('-' sorts before '/'), so sort here.
    return records
      .filter((r) => matchesSelector(options.selector ?? [], r.resource?.metadata.labels))
      .sort((a, b) => byCodeUnit(a.key.namespace, b.key.namespace) || byCodeUnit(a.key.name, b.key.name));
  }

  /**
   * A full Scan filtered on `version`: fine for the few thousand resources of
   * a mesh. A cloud deployment with more would add a GSI (constant partition
   * key, `version` as sort key) and Query it with `version > :v` instead.
   */
  async changedSince(version: string | undefined): Promise<StoredRecord[]> {
    // Partitions starting with `_` hold the control plane's own items (join tokens), not records.
    const input: ScanCommandInput = {
      TableName: this.tableName,
      ConsistentRead: true,
      FilterExpression:
        version === undefined ? 'NOT begins_with(pk, :own)' : 'NOT begins_with(pk, :own) AND #version > :v',
      ExpressionAttributeValues: {
        ':own': { S: '_' },
        ...(version !== undefined && { ':v': { S: version } }),
      },
      ...(version !== undefined && { ExpressionAttributeNames: { '#version': 'version' } }),
    };
    const records = await this.readAll(paginateScan({ client: this.client }, input));
    return records.sort((a, b) => compareHlc(a.version, b.version));
  }

  private async readAll(pages: AsyncIterable<{ Items?: Item[] }>): Promise<StoredRecord[]> {
    const records: StoredRecord[] = [];
    try {
      for await (const page of pages) for (const item of page.Items ?? []) records.push(fromItem(item));
    } catch (error) {
      throw toStoreError(error, this.tableName);
    }
    return records;
  }

  private async write(key: ResourceKey, item: Item, options: PutOptions): Promise<void> {
    await this.conditionally(key, preconditionOf(options), (condition) =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ...condition,
          // Saves a read on conflict where supported (AWS); dynalite ignores it.
          ...(condition && { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
        }),
      ),
    );
  }

  /** Runs one conditional request, turning a failed condition into `ConflictError`. */
  private async conditionally(
    key: ResourceKey,
    precondition: Precondition,
    send: (condition: Condition | undefined) => Promise<unknown>,
  ): Promise<void> {
    try {
      await send(conditionOf(precondition));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw toStoreError(error, this.tableName);
      // Without the old item, read it: the version may have moved on again, but it is only a hint.
      const current = error.Item ? fromItem(error.Item).version : (await this.get(key))?.version;
      throw conflictError(key, precondition, current, error);
    }
  }
}

type Condition = Pick<
  PutItemCommandInput,
  'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
>;

function conditionOf(precondition: Precondition): Condition | undefined {
  switch (precondition.kind) {
    case 'none':
      return undefined;
    case 'absent':
      return { ConditionExpression: 'attribute_not_exists(pk)' };
    case 'absent-or-deleted':
      return {
        ConditionExpression: 'attribute_not_exists(pk) OR #deleted = :true',
        ExpressionAttributeNames: { '#deleted': 'deleted' },
        ExpressionAttributeValues: { ':true': { BOOL: true } },
      };
    case 'version':
      return {
        ConditionExpression: '#version = :v',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':v': { S: precondition.version } },
      };
    case 'tombstone':
      return {
        ConditionExpression: '#version = :v AND #deleted = :true',
        ExpressionAttributeNames: { '#version': 'version', '#deleted': 'deleted' },
        ExpressionAttributeValues: { ':v': { S: precondition.version }, ':true': { BOOL: true } },
      };
  }
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
