/**
 * Garbage collection of tombstones. A delete leaves a versioned tombstone so
 * that it replicates and merges like any other write (`merge.ts`); once every
 * cloud has surely seen it, it is only dead weight, and
 * {@link collectTombstones} removes it with `StateStore.purge`.
 *
 * Collection is safe only together with the merge horizon: after a tombstone
 * is gone, a late relay of an older write would find the key absent and
 * re-create it. `mergeRecord(store, record, { horizon: tombstoneHorizon(now) })`
 * refuses exactly those writes; both sides must use the same horizon (or the
 * merge a shorter one).
 *
 * @module
 */
import { ConflictError } from '../model/errors.js';
import { compareHlc, formatHlc, parseHlc } from '../model/hlc.js';
import type { StateStore } from './state-store.js';

/**
 * How long a tombstone is kept: 7 days, far longer than relay retries and
 * anti-entropy rounds (minutes) take to carry a delete to every cloud, and
 * than any outage a cloud is expected to come back from by merging alone.
 */
export const TOMBSTONE_HORIZON_MS = 7 * 24 * 60 * 60 * 1000;

export interface CollectTombstonesOptions {
  /** Wall-clock time, in ms since the epoch (`Date.now()`). */
  readonly now: number;
  /** Tombstones whose version's wall time is older than `now - horizonMs` go. @default TOMBSTONE_HORIZON_MS */
  readonly horizonMs?: number;
}

/**
 * The horizon as an HLC version, for `mergeRecord`'s `horizon` option: the
 * smallest version at wall time `now - horizonMs`, so a version sorts before
 * it exactly when its wall time is older than that.
 *
 * @throws TypeError when `now` or `horizonMs` is not a non-negative finite number.
 */
export function tombstoneHorizon(now: number, horizonMs: number = TOMBSTONE_HORIZON_MS): string {
  return formatHlc({ wall: cutoff(now, horizonMs), counter: 0, node: '-' });
}

/**
 * Purges every tombstone whose HLC version's wall time is older than
 * `now - horizonMs`; live records and tombstones with an unparseable version
 * are never touched. Safe to run concurrently with writes, merges and
 * itself: each purge is conditional on the tombstone's version, so one
 * overwritten (or purged) meanwhile is a `ConflictError`, and skipped.
 *
 * @returns how many tombstones it purged.
 * @throws TypeError when `now` or `horizonMs` is not a non-negative finite number.
 * @example
 * await collectTombstones(store, { now: Date.now() }); // e.g. from a daily timer
 */
export async function collectTombstones(
  store: StateStore,
  options: CollectTombstonesOptions,
): Promise<number> {
  const { now, horizonMs = TOMBSTONE_HORIZON_MS } = options;
  const horizon = tombstoneHorizon(now, horizonMs);
  let purged = 0;
  for (const record of await store.changedSince(undefined)) {
    if (record.resource !== null || !parseHlc(record.version)) continue;
    if (compareHlc(record.version, horizon) >= 0) continue;
    try {
      await store.purge(record.key, record.version);
      purged++;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  return purged;
}

function cutoff(now: number, horizonMs: number): number {
  if (!Number.isFinite(now) || now < 0) throw new TypeError(`now must be ms since the epoch, got ${now}`);
  if (!Number.isFinite(horizonMs) || horizonMs < 0)
    throw new TypeError(`horizonMs must be a non-negative number of ms, got ${horizonMs}`);
  return Math.max(0, Math.floor(now - horizonMs));
}
