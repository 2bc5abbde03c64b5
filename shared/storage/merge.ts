/**
 * Last-writer-wins merge of records that arrive from other clouds (relayed
 * events, the anti-entropy sweep). Built on the port's single-item
 * compare-and-set alone, so it needs no transactions and is safe to run
 * concurrently with itself and with local writes.
 *
 * @module
 */
import { ConflictError } from '../model/errors.js';
import { compareHlc } from '../model/hlc.js';
import { formatKey } from '../model/kinds.js';
import type { PutOptions, StateStore, StoredRecord } from './state-store.js';

/** What {@link mergeRecord} did: stored the record, or kept a newer (or the same) one. */
export type MergeResult = 'applied' | 'stale';

/** Enough for any realistic contention on one key; past it something is wrong. */
const MAX_TRIES = 5;

/**
 * Stores `incoming` if its HLC version is greater than the version stored at
 * its key (tombstones included); otherwise leaves the store alone. Idempotent
 * and order-free: applying any set of writes, in any order, any number of
 * times, leaves each key at the write with the greatest version.
 *
 * Each attempt reads the key and writes under a compare-and-set on exactly
 * what it read; a lost race reads again.
 *
 * @throws ConflictError when the key kept changing for {@link MAX_TRIES} attempts.
 * @example
 * await mergeRecord(store, recordFromAnotherCloud); // 'applied' or 'stale'
 */
export async function mergeRecord(store: StateStore, incoming: StoredRecord): Promise<MergeResult> {
  let lastConflict: ConflictError | undefined;
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const current = await store.get(incoming.key);
    if (current && compareHlc(incoming.version, current.version) <= 0) return 'stale';
    // `ifVersion: null` would also pass over a tombstone written after our read,
    // and could replace a newer delete by an older write: demand true absence.
    const condition: PutOptions = current ? { ifVersion: current.version } : { ifAbsent: true };
    try {
      if (incoming.resource === null) {
        const { version, origin, updatedAt } = incoming;
        await store.delete(incoming.key, { version, origin, updatedAt }, condition);
      } else {
        await store.put(incoming, condition);
      }
      return 'applied';
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      lastConflict = error;
    }
  }
  throw new ConflictError(
    `${formatKey(incoming.key)}: gave up merging version ${incoming.version} after ${MAX_TRIES} lost compare-and-sets`,
    lastConflict?.currentVersion,
    { cause: lastConflict },
  );
}
