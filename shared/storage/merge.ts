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

/**
 * What {@link mergeRecord} did: stored the record, or kept a newer (or the
 * same) one, or refused to create a key from a write older than the horizon.
 */
export type MergeResult = 'applied' | 'stale';

export interface MergeOptions {
  /**
   * The tombstone horizon, as an HLC version: usually
   * `tombstoneHorizon(Date.now())` (see `tombstones.ts`), with the same
   * horizon the store's `collectTombstones` runs with (or a shorter one).
   * When the key is absent from the store (never written, or its tombstone
   * was collected) and `incoming.version` sorts before `horizon`, the merge
   * creates nothing and answers `'stale'`.
   *
   * Why: once tombstones are collected, "absent" and "deleted long ago" look
   * alike. Any write older than the horizon must already have reached every
   * cloud (relay and anti-entropy run far more often than the horizon is
   * long), so refusing to create a key from one loses nothing, while
   * accepting it could resurrect a resource deleted, and collected, since.
   * A key that is stored (live or tombstone) still merges by plain
   * last-writer-wins, whatever the age of the write. (A cloud cut off for
   * longer than the horizon cannot be repaired by merging: re-seed it.)
   *
   * Omitted: no horizon, every write to an absent key is applied (right only
   * for a store whose tombstones are never collected).
   */
  readonly horizon?: string;
}

/** Enough for any realistic contention on one key; past it something is wrong. */
const MAX_TRIES = 5;

/**
 * Stores `incoming` if its HLC version is greater than the version stored at
 * its key (tombstones included); otherwise leaves the store alone. Idempotent
 * and order-free: applying any set of writes, in any order, any number of
 * times, leaves each key at the write with the greatest version.
 *
 * Each attempt reads the key and writes under a compare-and-set on exactly
 * what it read; a lost race reads again (so a tombstone collected between the
 * read and the write is seen as absent, and the horizon applies).
 *
 * With `options.horizon`, a write older than the horizon never creates an
 * absent key: see {@link MergeOptions.horizon}.
 *
 * @throws ConflictError when the key kept changing for {@link MAX_TRIES} attempts.
 * @example
 * await mergeRecord(store, recordFromAnotherCloud, { horizon: tombstoneHorizon(Date.now()) }); // 'applied' or 'stale'
 */
export async function mergeRecord(
  store: StateStore,
  incoming: StoredRecord,
  options: MergeOptions = {},
): Promise<MergeResult> {
  const { horizon } = options;
  let lastConflict: ConflictError | undefined;
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const current = await store.get(incoming.key);
    if (current && compareHlc(incoming.version, current.version) <= 0) return 'stale';
    if (!current && horizon !== undefined && compareHlc(incoming.version, horizon) < 0) return 'stale';
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
