/**
 * The `ReplayCache` on Azure Tables, shared by every function instance: a
 * proof claimed by one is refused by all the others. One entity per proof,
 * partition `replay`, row key the proof's key (see {@link tableRowKey}),
 * `expiresAt` its expiry in epoch ms.
 *
 * In a table of its own, not the state table, for the join-token store's
 * reason: the state store's reads list every entity of its table, and
 * these are no resources. (Its own partition also lets it share a table
 * with the join-token store and the rate limiter, should a deployment want
 * one table for all three.)
 *
 * A claim inserts the entity; when one is there it is read, and if it has
 * expired it is replaced under the read's ETag, so of several racing
 * claims exactly one wins either way. Azure Tables has no TTL: expired
 * entities stay until a claim of the same key reuses them.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import type { ReplayCache } from '../../shared/identity/attestation/replay-cache.js';
import { isLostRace, toStoreError } from './table-errors.js';

/** The partition of claimed proofs. */
export const REPLAY_PARTITION = 'replay';

/** Configuration of {@link AzureTableReplayCache}. */
export interface AzureTableReplayCacheOptions {
  /** A client for the replay table (see `ensureAzureTable`). */
  readonly client: TableClient;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * @example
 * const client = TableClient.fromConnectionString(connectionString, 'weftreplay');
 * await ensureAzureTable(client);
 * const replayCache = new AzureTableReplayCache({ client });
 * if (!(await replayCache.claim(`azure_msi:${jti}`, Date.now() + 900_000))) throw replayed();
 */
export class AzureTableReplayCache implements ReplayCache {
  readonly #client: TableClient;
  readonly #now: () => number;

  constructor(options: AzureTableReplayCacheOptions) {
    if (!options.client) throw new TypeError('AzureTableReplayCache needs a TableClient');
    this.#client = options.client;
    this.#now = options.now ?? Date.now;
  }

  /** @throws UnavailableError when Azure Tables cannot be reached: the caller refuses the proof (fails closed). */
  async claim(key: string, expiresAt: number): Promise<boolean> {
    if (typeof key !== 'string' || key.length === 0)
      throw new TypeError('a replay key must be a non-empty string');
    if (!Number.isFinite(expiresAt)) throw new TypeError('expiresAt must be epoch milliseconds');
    const entity = {
      partitionKey: REPLAY_PARTITION,
      rowKey: tableRowKey(key),
      expiresAt: String(Math.ceil(expiresAt)),
    };
    // Twice at most: a second insert only follows an entity that vanished between the insert and the read.
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        await this.#client.createEntity(entity);
        return true;
      } catch (error) {
        if (!isLostRace(error)) throw toStoreError(error, this.#client.tableName);
      }
      let held: { expiresAt?: unknown; etag: string };
      try {
        held = await this.#client.getEntity(REPLAY_PARTITION, entity.rowKey);
      } catch (error) {
        if (isLostRace(error)) continue;
        throw toStoreError(error, this.#client.tableName);
      }
      // Unreadable means written by something else: held, as a proof must not pass on a doubt.
      const heldUntil = Number(held.expiresAt);
      if (!Number.isFinite(heldUntil) || heldUntil > this.#now()) return false;
      try {
        await this.#client.updateEntity(entity, 'Replace', { etag: held.etag });
        return true;
      } catch (error) {
        // Another claim replaced (or removed) it first: that one won.
        if (isLostRace(error)) return false;
        throw toStoreError(error, this.#client.tableName);
      }
    }
    return false;
  }
}

/**
 * Characters Azure forbids in keys (`/ \ # ?` and control characters); a
 * proof's key is often base64 with `/` in it.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Azure forbids exactly these control characters in keys.
const KEY_UNSAFE = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

/**
 * `text` as a row key: itself when Azure allows it and it is short (a key
 * holds 1 KiB); else its SHA-256, which is as unique.
 */
export function tableRowKey(text: string, maxChars = 256): string {
  if (text.length <= maxChars && !KEY_UNSAFE.test(text)) return text;
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}
