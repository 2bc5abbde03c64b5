/**
 * The registrar's ports and results: what it writes through, where it lists
 * what it owns, how a cloud hands it its resources, and what it reports.
 *
 * @module
 */
import type { ResourceKey } from '../model/kinds.js';
import type { ListOptions, StoredRecord } from '../storage/state-store.js';
import type { ObservedResource } from './observed-resource.js';

/** Writes as the control plane's `ResourceWriter` makes them (which satisfies this). */
export interface WorkloadWriter {
  get(key: ResourceKey): Promise<StoredRecord | undefined>;
  put(document: unknown): Promise<{ readonly action: string }>;
  delete(key: ResourceKey): Promise<unknown>;
}

/** Where the registrar finds the Workloads it made (a `StateStore` satisfies this). */
export interface WorkloadLister {
  list(kind: 'Workload', options?: ListOptions): Promise<StoredRecord[]>;
}

/** A cloud's resources, read afresh: the port each cloud edge implements. */
export interface CloudResources {
  /** Every resource that carries the service tag, described. */
  listTagged(): Promise<ObservedResource[]>;
  /** Each id's current state; one the cloud no longer has comes back `terminated`, without tags. */
  describe(ids: readonly string[]): Promise<ObservedResource[]>;
}

export type RegistrationAction =
  | 'registered'
  | 'updated'
  | 'unchanged'
  | 'removed'
  | 'rejected'
  | 'conflict'
  | 'ignored'
  | 'failed';

/** What happened to one resource. */
export interface RegistrationOutcome {
  readonly resource: string;
  readonly action: RegistrationAction;
  /** `namespace/name` of the Workload concerned. */
  readonly workload?: string;
  readonly reasons?: readonly string[];
}

export interface RegistrationReport {
  readonly outcomes: readonly RegistrationOutcome[];
  readonly counts: Readonly<Record<RegistrationAction, number>>;
}
