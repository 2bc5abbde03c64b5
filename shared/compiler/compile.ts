/**
 * The compiler: desired state in, one snapshot per Gateway out, each holding
 * only what that gateway needs. Pure and deterministic: the same state (and
 * previous snapshots) give byte-identical snapshots, in any record order.
 *
 * @example
 * const full = compileSnapshots(meshStateFrom(records, bundle));
 * const next = compileIncremental(applyRecords(full.sections!.state, [record]), full, [record.key]);
 * for (const key of next.changed) publish(next.snapshots.get(key)!);
 *
 * @module
 */

import { hashContent } from '../contract/canonical.js';
import type { GatewaySnapshot } from '../contract/snapshot.js';
import type { ResourceKey } from '../model/kinds.js';
import { compileMesh, meshProblem, theMesh } from './compile-mesh.js';
import { MeshIndex } from './mesh-index.js';
import { compare, type MeshState } from './mesh-state.js';
import { fullWork, planChanges } from './plan.js';
import { advance, emptySections, type Sections } from './sections.js';
import { keepContent, nextVersion } from './snapshot-version.js';

export { nextVersion } from './snapshot-version.js';

export interface CompileResult {
  /** By gateway key (`<environment>/<name>`), in key order. */
  readonly snapshots: Map<string, GatewaySnapshot>;
  /**
   * Gateways whose content is new or differs from the previous snapshot's:
   * what to sign and push. The others may still have moved to the new state
   * version, with the same hash.
   */
  readonly changed: readonly string[];
  /** Gateways that had a previous snapshot and have none now (deleted, or moved to another key). */
  readonly removed: readonly string[];
  /** Gateways that get no snapshot because their Environment does not exist (yet). */
  readonly skipped: readonly { readonly gateway: string; readonly reason: string }[];
  /**
   * Set when nothing could be compiled (no Mesh, or more than one). Then
   * nothing is removed either: the gateways keep their last-known-good.
   */
  readonly reason?: string;
  /** What {@link compileIncremental} builds on; opaque to callers. */
  readonly sections?: Sections;
}

/**
 * Compiles every gateway's snapshot, at `state.stateVersion`. A gateway
 * whose content is unchanged from `previous` keeps its snapshot object when
 * that is at the state version already (or past it); one whose content
 * changed is stepped past its previous version should the state not be (see
 * {@link nextVersion}).
 */
export function compileSnapshots(
  state: MeshState,
  previous: ReadonlyMap<string, GatewaySnapshot> = new Map(),
): CompileResult {
  const reason = meshProblem(state);
  if (reason) return { snapshots: new Map(), changed: [], removed: [], skipped: [], reason };
  const index = MeshIndex.build(state);
  const base = emptySections(index, compileMesh(theMesh(state)));
  const { sections, touched } = advance(base, state, index, fullWork(state));
  return assemble(sections, touched, previous);
}

/**
 * Recompiles after `changedKeys`: recomputes only the sections those keys can
 * touch (see `plan.ts`) and reassembles only the gateways whose sections
 * changed. Returns exactly what {@link compileSnapshots} would for `state`
 * and `previous.snapshots`, provided `state` differs from the state
 * `previous` was compiled from only at `changedKeys` (keys that did not
 * change are harmless) and, maybe, in its bundle. A `previous` without
 * sections (a cold start holding only stored snapshots) compiles in full.
 *
 * A warm instance that keeps its last result must name every key written
 * since, not only the event's: another instance may have compiled changes in
 * between. When unsure, a full compile is always right.
 */
export function compileIncremental(
  state: MeshState,
  previous: CompileResult,
  changedKeys: readonly ResourceKey[],
): CompileResult {
  const base = previous.sections;
  if (!base || meshProblem(state)) return compileSnapshots(state, previous.snapshots);
  const work = planChanges(base.state, state, changedKeys);
  if (work === 'full') return compileSnapshots(state, previous.snapshots);
  const index = base.index.update(base.state, state, changedKeys);
  const { sections, touched } = advance(base, state, index, work);
  return assemble(sections, touched, previous.snapshots);
}

function assemble(
  sections: Sections,
  touched: ReadonlySet<string>,
  previous: ReadonlyMap<string, GatewaySnapshot>,
): CompileResult {
  const { state, mesh, bundle, head } = sections;
  const { stateVersion } = state;
  const snapshots = new Map<string, GatewaySnapshot>();
  const changed: string[] = [];
  for (const key of [...sections.gateways.keys()].sort(compare)) {
    const prior = previous.get(key);
    if (prior && !touched.has(key)) {
      snapshots.set(key, keepContent(prior, stateVersion));
      continue;
    }
    const gateway = sections.gateways.get(key)!;
    const { ingress, egress } = sections.perEnv.get(gateway.environment)!;
    const hash = hashContent(head, egress.sourceIdentities, gateway, ingress, mesh);
    if (prior?.hash === hash) {
      snapshots.set(key, keepContent(prior, stateVersion));
      continue;
    }
    changed.push(key);
    const version = nextVersion(stateVersion, prior?.version);
    // Frozen, but not memoized whole: its parts are, and they are what is shared.
    const snapshot = { apiVersion: 'weft.dev/v1', kind: 'GatewaySnapshot', gateway, version, hash } as const;
    snapshots.set(key, Object.freeze({ ...snapshot, mesh, bundle, ingress, egress }));
  }
  const removed = [...previous.keys()].filter((key) => !snapshots.has(key)).sort(compare);
  const known = state.resources.Environment;
  const skipped = [...state.resources.Gateway.values()]
    .filter((gw) => !known.has(gw.spec.environment))
    .map((gw) => ({
      gateway: gw.metadata.name,
      reason: `Environment ${gw.spec.environment} does not exist`,
    }))
    .sort((a, b) => compare(a.gateway, b.gateway));
  return { snapshots, changed, removed, skipped, sections };
}
