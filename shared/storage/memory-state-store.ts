/**
 * The in-memory `StateStore`: the fake every unit test and benchmark baseline
 * uses. It passes the same contract test as the real adapters.
 *
 * @module
 */
import { compareHlc } from '../model/hlc.js';
import type { Kind, ResourceKey } from '../model/kinds.js';
import {
  conflictError,
  holds,
  type Precondition,
  preconditionOf,
  purgePrecondition,
} from './compare-and-set.js';
import { matchesSelector } from './label-selector.js';
import {
  type ListOptions,
  type PutOptions,
  requireLive,
  type StateStore,
  type StoredRecord,
  tombstone,
  type WriteStamp,
} from './state-store.js';

const id = (k: ResourceKey) => `${k.kind}\u0000${k.namespace}\u0000${k.name}`;

export class MemoryStateStore implements StateStore {
  private readonly records = new Map<string, StoredRecord>();

  async get(key: ResourceKey): Promise<StoredRecord | undefined> {
    // A copy, as every real store returns: a caller editing it must not edit the store.
    const record = this.records.get(id(key));
    return record && structuredClone(record);
  }

  async put(record: StoredRecord, options: PutOptions = {}): Promise<void> {
    requireLive(record);
    this.check(record.key, preconditionOf(options));
    this.records.set(id(record.key), structuredClone(record));
  }

  async delete(key: ResourceKey, write: WriteStamp, options: PutOptions = {}): Promise<void> {
    this.check(key, preconditionOf(options));
    this.records.set(id(key), tombstone(key, write));
  }

  async purge(key: ResourceKey, ifVersion: string): Promise<void> {
    this.check(key, purgePrecondition(ifVersion));
    this.records.delete(id(key));
  }

  async list(kind: Kind, options: ListOptions = {}): Promise<StoredRecord[]> {
    return [...this.records.values()]
      .filter(
        (r) =>
          r.key.kind === kind &&
          r.resource !== null &&
          (options.namespace === undefined || r.key.namespace === options.namespace) &&
          matchesSelector(options.selector ?? [], r.resource.metadata.labels),
      )
      .sort((a, b) => byCodeUnit(a.key.namespace, b.key.namespace) || byCodeUnit(a.key.name, b.key.name))
      .map((r) => structuredClone(r));
  }

  async changedSince(version: string | undefined): Promise<StoredRecord[]> {
    return [...this.records.values()]
      .filter((r) => version === undefined || compareHlc(r.version, version) > 0)
      .sort((a, b) => compareHlc(a.version, b.version))
      .map((r) => structuredClone(r));
  }

  private check(key: ResourceKey, precondition: Precondition): void {
    const current = this.records.get(id(key));
    const state = current && { version: current.version, deleted: current.resource === null };
    if (!holds(precondition, state)) throw conflictError(key, precondition, current?.version);
  }
}

/** Locale-free order, the one DynamoDB, Firestore and Azure Tables sort keys by. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
