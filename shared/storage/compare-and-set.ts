/**
 * The one compare-and-set check every `StateStore` makes. A backend keeps
 * only its SDK calls (a condition expression, a precondition, an ETag);
 * what `ifVersion` and `ifAbsent` mean, and the conflict they raise, are
 * decided here once, as Powertools' `BasePersistenceLayer` leaves each
 * persistence backend only its I/O.
 *
 * @module
 */
import { ConflictError } from '../model/errors.js';
import { formatKey, type ResourceKey } from '../model/kinds.js';
import type { PutOptions } from './state-store.js';

/** What a write requires of the stored item. */
export type Precondition =
  /** Unconditional. */
  | { readonly kind: 'none' }
  /** `ifAbsent`: nothing stored, not even a tombstone. */
  | { readonly kind: 'absent' }
  /** `ifVersion: null`: nothing live (absent, or a tombstone). */
  | { readonly kind: 'absent-or-deleted' }
  /** `ifVersion: v`: the stored item is at `v` exactly. */
  | { readonly kind: 'version'; readonly version: string }
  /** `purge(key, v)`: the stored item is a tombstone at `v` exactly (never a live record). */
  | { readonly kind: 'tombstone'; readonly version: string };

/** The stored item as a precondition sees it; `undefined` when nothing is stored. */
export interface StoredState {
  readonly version: string | undefined;
  readonly deleted: boolean;
}

/**
 * @throws TypeError when both `ifVersion` and `ifAbsent` are given (a caller's bug).
 */
export function preconditionOf({ ifVersion, ifAbsent }: PutOptions): Precondition {
  if (ifAbsent && ifVersion !== undefined) throw new TypeError('pass ifVersion or ifAbsent, not both');
  if (ifAbsent) return { kind: 'absent' };
  if (ifVersion === null) return { kind: 'absent-or-deleted' };
  if (ifVersion !== undefined) return { kind: 'version', version: ifVersion };
  return { kind: 'none' };
}

/**
 * What `purge(key, ifVersion)` requires.
 *
 * @throws TypeError when `ifVersion` is not a non-empty string (a caller's bug).
 */
export function purgePrecondition(ifVersion: string): Precondition {
  if (typeof ifVersion !== 'string' || ifVersion === '')
    throw new TypeError('purge() takes the version of the tombstone to remove');
  return { kind: 'tombstone', version: ifVersion };
}

/** Whether `current` meets `precondition`. */
export function holds(precondition: Precondition, current: StoredState | undefined): boolean {
  switch (precondition.kind) {
    case 'none':
      return true;
    case 'absent':
      return current === undefined;
    case 'absent-or-deleted':
      return current === undefined || current.deleted;
    case 'version':
      return current?.version === precondition.version;
    case 'tombstone':
      return current?.deleted === true && current.version === precondition.version;
  }
}

/**
 * Whether a backend that cannot condition a write on a field must read the
 * item first: `absent` is a create, which every backend refuses over any
 * item (tombstones included), and `none` needs nothing.
 */
export function needsRead(precondition: Precondition): boolean {
  return (
    precondition.kind === 'version' ||
    precondition.kind === 'absent-or-deleted' ||
    precondition.kind === 'tombstone'
  );
}

/** Whether a write that found nothing to replace should be a create (refused over any item). */
export function createsOnly(precondition: Precondition): boolean {
  return precondition.kind === 'absent' || precondition.kind === 'absent-or-deleted';
}

/** The conflict a failed precondition raises, with the version that stood (a hint: it may move on). */
export function conflictError(
  key: ResourceKey,
  precondition: Precondition,
  current: string | undefined,
  cause?: unknown,
): ConflictError {
  const expected =
    precondition.kind === 'absent'
      ? '(nothing stored)'
      : precondition.kind === 'version'
        ? precondition.version
        : precondition.kind === 'tombstone'
          ? `a tombstone at ${precondition.version}`
          : '(absent)';
  return new ConflictError(
    `${formatKey(key)} is at version ${current ?? '(none)'}, expected ${expected}`,
    current,
    ...(cause === undefined ? [] : [{ cause }]),
  );
}
