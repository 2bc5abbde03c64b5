/**
 * The compiler's input: the live desired state grouped by kind, the version
 * it stands at, and the trust bundle. Built from what the `StateStore` holds.
 *
 * @module
 */
import { DEFAULT_NAMESPACE, KINDS, type Kind } from '../model/kinds.js';
import type { ResourceOf } from '../model/resource.js';
import type { StoredRecord } from '../storage/state-store.js';

/** Live resources of each kind, by {@link resourceId}. */
export type ResourcesByKind = { readonly [K in Kind]: ReadonlyMap<string, ResourceOf<K>> };

export interface MeshState {
  readonly resources: ResourcesByKind;
  /**
   * The greatest version among all records, tombstones included: a delete moves
   * it forward too, so a snapshot compiled after any change is newer than one
   * compiled before. `''` when there are no records.
   */
  readonly stateVersion: string;
  /** The trust bundle JSON (`GET /v1/bundle`), opaque to the compiler; `null` when none. */
  readonly bundle: unknown;
}

/** `<namespace>/<name>` for namespaced kinds, `<name>` for cluster-scoped ones. */
export function resourceId(key: { readonly namespace: string; readonly name: string }): string {
  return key.namespace ? `${key.namespace}/${key.name}` : key.name;
}

/** The namespace a document lives in (parsing fills it in; the fallback is for hand-built input). */
export function namespaceOf(resource: { readonly metadata: { readonly namespace?: string | undefined } }) {
  return resource.metadata.namespace ?? DEFAULT_NAMESPACE;
}

/** Code-unit order: the same in every runtime and locale, unlike `localeCompare`. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Groups stored records by kind, leaving tombstones out of the resources but
 * not out of `stateVersion`.
 *
 * @example
 * const state = meshStateFrom(await store.changedSince(undefined), bundle);
 */
export function meshStateFrom(records: Iterable<StoredRecord>, bundle: unknown = null): MeshState {
  const empty = Object.fromEntries(KINDS.map((k) => [k, new Map()])) as unknown as ResourcesByKind;
  return applyRecords({ resources: empty, stateVersion: '', bundle }, records);
}

/**
 * The state after `records`: writes newer than what `state` holds, tombstones
 * included; of several writes of one key the newest wins, in any order. Copies
 * only the kinds they touch, so a warm `compile` can keep its state and apply
 * one change event without re-reading the store. `state` is left as it was.
 */
export function applyRecords(state: MeshState, records: Iterable<StoredRecord>): MeshState {
  const newest = new Map<string, StoredRecord>();
  let stateVersion = state.stateVersion;
  for (const record of records) {
    if (record.version > stateVersion) stateVersion = record.version;
    const at = `${record.key.kind}:${resourceId(record.key)}`;
    const seen = newest.get(at);
    if (!seen || record.version > seen.version) newest.set(at, record);
  }
  const copies = new Map<Kind, Map<string, unknown>>();
  for (const record of newest.values()) {
    const { kind } = record.key;
    let map = copies.get(kind);
    if (!map) {
      map = new Map<string, unknown>(state.resources[kind] as ReadonlyMap<string, unknown>);
      copies.set(kind, map);
    }
    const id = resourceId(record.key);
    if (record.resource?.kind === kind) map.set(id, record.resource);
    else map.delete(id);
  }
  if (copies.size === 0) return stateVersion === state.stateVersion ? state : { ...state, stateVersion };
  return {
    resources: { ...state.resources, ...Object.fromEntries(copies) },
    stateVersion,
    bundle: state.bundle,
  };
}
