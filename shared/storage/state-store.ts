/**
 * The `StateStore` port: desired mesh state on nothing more than a
 * single-item compare-and-set, which every cloud's document store offers
 * (DynamoDB `ConditionExpression`, Firestore preconditions, Azure Tables
 * `If-Match`). No transactions, no streams.
 *
 * @module
 */
import type { Kind, ResourceKey } from '../model/kinds.js';
import type { Resource } from '../model/resource.js';
import type { LabelSelector } from './label-selector.js';

/** One stored resource, or the tombstone a delete leaves behind. */
export interface StoredRecord {
  readonly key: ResourceKey;
  /** HLC version (see `hlc.ts`); strictly increases with every write of this key. */
  readonly version: string;
  /** The cloud that made this write. */
  readonly origin: string;
  /** RFC 3339 time of this write. */
  readonly updatedAt: string;
  /** The document as the operator wrote it, without `status`; `null` for a tombstone. */
  readonly resource: Resource | null;
}

/** Who wrote, and when, for a delete. */
export interface WriteStamp {
  readonly version: string;
  readonly origin: string;
  readonly updatedAt: string;
}

export interface PutOptions {
  /**
   * Compare-and-set. A string: the stored record (live or tombstone) must have
   * exactly this version. `null`: there must be no live record (absent or a
   * tombstone). Omitted: unconditional.
   */
  readonly ifVersion?: string | null;
  /**
   * Create-only: nothing may be stored at the key, not even a tombstone.
   * `ifVersion: null` lets a write replace a tombstone, which is right for an
   * operator re-creating a resource but wrong when merging writes from another
   * cloud: there an older write must never replace a newer tombstone (see
   * `merge.ts`). Every store can check this too (DynamoDB
   * `attribute_not_exists`, Firestore `exists: false`, an Azure Tables insert).
   * Not to be combined with `ifVersion`.
   */
  readonly ifAbsent?: boolean;
}

export interface ListOptions {
  /** Only this namespace ('' for cluster-scoped kinds). Omitted: all. */
  readonly namespace?: string;
  readonly selector?: LabelSelector;
}

export interface StateStore {
  /** The record at `key`, tombstones included; `undefined` when never written. */
  get(key: ResourceKey): Promise<StoredRecord | undefined>;
  /**
   * Writes a live record (`resource` not `null`).
   *
   * @throws ConflictError when `ifVersion` or `ifAbsent` does not hold.
   * @throws TypeError when `record.resource` is `null` (use `delete`).
   */
  put(record: StoredRecord, options?: PutOptions): Promise<void>;
  /**
   * Replaces the record at `key` by a tombstone carrying `write`'s version, so
   * the delete itself is versioned and merges like any other write.
   *
   * @throws ConflictError when `ifVersion` or `ifAbsent` does not hold.
   */
  delete(key: ResourceKey, write: WriteStamp, options?: PutOptions): Promise<void>;
  /**
   * Physically removes the tombstone at `key`, but only while it is exactly
   * the tombstone at `ifVersion`: a live record is never purged, nor a
   * tombstone a later write replaced. Afterwards the key reads as never
   * written (`get` answers `undefined`, `changedSince` omits it), so only
   * `collectTombstones` (see `tombstones.ts`) should call this, past the
   * horizon that `mergeRecord` enforces.
   *
   * @throws ConflictError when nothing is stored, the record is live, or it is at another version.
   * @throws TypeError when `ifVersion` is not a non-empty string.
   */
  purge(key: ResourceKey, ifVersion: string): Promise<void>;
  /** Live records of one kind, sorted by namespace then name (by UTF-16 code unit, not locale). */
  list(kind: Kind, options?: ListOptions): Promise<StoredRecord[]>;
  /**
   * Every record (tombstones included) whose version is greater than `version`,
   * sorted by version; all records when `version` is undefined. What the
   * anti-entropy sweep and cross-cloud sync read.
   */
  changedSince(version: string | undefined): Promise<StoredRecord[]>;
}

/**
 * Guards `put()`: tombstones go through `delete()`, so every store writes them
 * the same way. Programmer misuse, hence `TypeError`.
 */
export function requireLive(record: StoredRecord): void {
  if (record.resource === null) throw new TypeError('put() takes a live record; use delete() for tombstones');
}

/** The tombstone `delete()` stores: the key, the write's stamp, no document. */
export function tombstone(key: ResourceKey, write: WriteStamp): StoredRecord {
  const { version, origin, updatedAt } = write;
  return { key: { ...key }, version, origin, updatedAt, resource: null };
}
