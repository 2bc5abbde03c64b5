/**
 * The `StateStore` on Azure Table storage: one table, compare-and-set
 * through `If-Match` ETags and inserts, nothing else (no entity-group
 * transactions), so it runs unchanged on azurite. Entity layout:
 * `table-entity.ts`.
 *
 * @module
 */
import { odata, type TableClient } from '@azure/data-tables';
import { compareHlc } from '../../shared/model/hlc.js';
import type { Kind, ResourceKey } from '../../shared/model/kinds.js';
import {
  conflictError,
  createsOnly,
  holds,
  needsRead,
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
import {
  type Entity,
  type EntityResult,
  entityKey,
  fromEntity,
  namespaceRange,
  toEntity,
} from './table-entity.js';
import { azureErrorCode, isLostRace, toStoreError } from './table-errors.js';

export { type EnsureAzureTableOptions, ensureAzureTable } from './table-ensure.js';

export interface AzureTableStateStoreOptions {
  /** A client for the state table (see `ensureAzureTable`); the store owns every entity in it. */
  readonly client: TableClient;
}

/**
 * Desired mesh state in one Azure table. Reads are strongly consistent (Azure
 * Tables always are), which a compare-and-set needs.
 *
 * A conditional write reads the entity, checks its `version`, and writes with
 * that read's ETag as `If-Match`: a writer that slipped in between changed
 * the ETag, so the service answers 412 and the write fails as it should.
 * `purge()` reads the same way and deletes with that ETag as `If-Match`.
 * Failures come out as core errors: `ConflictError` (with `cause` and the
 * current version), `UnavailableError` for a missing table, throttling,
 * credentials or network, `PayloadTooLargeError` for an entity over 1 MiB.
 *
 * @example
 * const client = TableClient.fromConnectionString(connectionString, 'weft');
 * await ensureAzureTable(client);
 * const store = new AzureTableStateStore({ client });
 */
export class AzureTableStateStore implements StateStore {
  private readonly client: TableClient;

  constructor(options: AzureTableStateStoreOptions) {
    if (!options.client) throw new TypeError('AzureTableStateStore needs a TableClient');
    this.client = options.client;
  }

  async get(key: ResourceKey): Promise<StoredRecord | undefined> {
    const entity = await this.read(key);
    return entity && fromEntity(entity);
  }

  async put(record: StoredRecord, options: PutOptions = {}): Promise<void> {
    requireLive(record);
    await this.write(record.key, toEntity(record), options);
  }

  async delete(key: ResourceKey, write: WriteStamp, options: PutOptions = {}): Promise<void> {
    await this.write(key, toEntity(tombstone(key, write)), options);
  }

  /**
   * Reads the entity, checks it is the tombstone at `ifVersion`, and deletes
   * it with that read's ETag as `If-Match` (412 if written since, 404 if gone).
   */
  async purge(key: ResourceKey, ifVersion: string): Promise<void> {
    const precondition = purgePrecondition(ifVersion);
    const current = await this.read(key);
    this.check(key, precondition, current); // refuses a missing entity, so `current` is set below
    const { partitionKey, rowKey } = entityKey(key);
    await this.commit(key, precondition, () =>
      this.client.deleteEntity(partitionKey, rowKey, { etag: current!.etag }),
    );
  }

  async list(kind: Kind, options: ListOptions = {}): Promise<StoredRecord[]> {
    const { namespace } = options;
    const range = namespace === undefined ? undefined : namespaceRange(namespace);
    const filter = range
      ? odata`PartitionKey eq ${kind} and RowKey ge ${range.from} and RowKey lt ${range.to} and deleted eq false`
      : odata`PartitionKey eq ${kind} and deleted eq false`;
    const records = await this.query(filter);
    // RowKey order is not namespace-then-name order ('-' sorts before '|'), so sort here.
    return records
      .filter((r) => matchesSelector(options.selector ?? [], r.resource?.metadata.labels))
      .sort((a, b) => byCodeUnit(a.key.namespace, b.key.namespace) || byCodeUnit(a.key.name, b.key.name));
  }

  /**
   * A query across every partition, filtered on `version` (HLC versions sort
   * as strings, so `gt` is exact): fine for the few thousand resources of a
   * mesh; the service pages through the table for us.
   */
  async changedSince(version: string | undefined): Promise<StoredRecord[]> {
    const records = await this.query(version === undefined ? undefined : odata`version gt ${version}`);
    return records.sort((a, b) => compareHlc(a.version, b.version));
  }

  private async read(key: ResourceKey): Promise<EntityResult | undefined> {
    const { partitionKey, rowKey } = entityKey(key);
    try {
      return await this.client.getEntity(partitionKey, rowKey);
    } catch (error) {
      if (isLostRace(error) && azureErrorCode(error) === 'ResourceNotFound') return undefined;
      throw toStoreError(error, this.client.tableName);
    }
  }

  private async query(filter: string | undefined): Promise<StoredRecord[]> {
    const records: StoredRecord[] = [];
    try {
      const pages = this.client.listEntities(filter === undefined ? {} : { queryOptions: { filter } });
      for await (const entity of pages) records.push(fromEntity(entity));
    } catch (error) {
      throw toStoreError(error, this.client.tableName);
    }
    return records;
  }

  private async write(key: ResourceKey, entity: Entity, options: PutOptions): Promise<void> {
    const precondition = preconditionOf(options);
    // Inserts and unconditional writes need no read: the service refuses an
    // insert over any entity, tombstones included.
    const current = needsRead(precondition) ? await this.read(key) : undefined;
    this.check(key, precondition, current);
    await this.commit(key, precondition, async () => {
      if (current) await this.client.updateEntity(entity, 'Replace', { etag: current.etag });
      else if (createsOnly(precondition)) await this.client.createEntity(entity);
      else await this.client.upsertEntity(entity, 'Replace');
    });
  }

  /** @throws ConflictError when `current` (what was read) does not meet `precondition`. */
  private check(key: ResourceKey, precondition: Precondition, current: EntityResult | undefined): void {
    const version = typeof current?.version === 'string' ? current.version : undefined;
    if (!holds(precondition, current && { version, deleted: current.deleted === true }))
      throw conflictError(key, precondition, version);
  }

  /** Runs one conditional request, turning a lost race (409, 412, 404) into `ConflictError`. */
  private async commit(
    key: ResourceKey,
    precondition: Precondition,
    send: () => Promise<unknown>,
  ): Promise<void> {
    try {
      await send();
    } catch (error) {
      if (!isLostRace(error)) throw toStoreError(error, this.client.tableName);
      // Someone wrote in between: read what won, as a hint (it may move on again).
      throw conflictError(key, precondition, (await this.get(key))?.version, error);
    }
  }
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
