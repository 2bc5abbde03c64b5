/**
 * Join-token hashes in Azure Tables, in a table of their own (the state
 * table's reads list every entity, and these are no resources): one entity
 * per hash, partition `join-token`, row key the hash, created only if absent
 * and consumed by a delete conditional on the ETag just read, so a token
 * works once even when two attestations race.
 *
 * @module
 */
import type { TableClient } from '@azure/data-tables';
import type { JoinTokenEntry, JoinTokenStore } from '../../shared/identity/attestation/join-token-store.js';
import { ConflictError } from '../../shared/model/errors.js';
import { isLostRace, toStoreError } from './table-errors.js';

const PARTITION = 'join-token';

export class AzureTableJoinTokenStore implements JoinTokenStore {
  readonly #client: TableClient;

  constructor(options: { readonly client: TableClient }) {
    this.#client = options.client;
  }

  /** @throws ConflictError if the hash is already stored (a 256-bit collision: never, short of a bug). */
  async put(hash: string, entry: JoinTokenEntry): Promise<void> {
    try {
      await this.#client.createEntity({
        partitionKey: PARTITION,
        rowKey: hash,
        spiffeId: entry.spiffeId,
        expiresAt: String(entry.expiresAt),
      });
    } catch (error) {
      if (isLostRace(error))
        throw new ConflictError('a join token with this hash is already stored', undefined, { cause: error });
      throw toStoreError(error, this.#client.tableName);
    }
  }

  /** Reads, then deletes under the read's ETag; `undefined` when never issued, already used, or used by a racer. */
  async consume(hash: string): Promise<JoinTokenEntry | undefined> {
    let entity: { spiffeId?: unknown; expiresAt?: unknown; etag: string };
    try {
      entity = await this.#client.getEntity(PARTITION, hash);
    } catch (error) {
      if (isLostRace(error)) return undefined;
      throw toStoreError(error, this.#client.tableName);
    }
    try {
      await this.#client.deleteEntity(PARTITION, hash, { etag: entity.etag });
    } catch (error) {
      if (isLostRace(error)) return undefined;
      throw toStoreError(error, this.#client.tableName);
    }
    const expiresAt = Number(entity.expiresAt);
    // A token whose record is unreadable was spent all the same: it must not work, and it did not.
    if (typeof entity.spiffeId !== 'string' || !Number.isSafeInteger(expiresAt)) return undefined;
    return { spiffeId: entity.spiffeId, expiresAt };
  }
}
