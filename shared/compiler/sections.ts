/**
 * The sections snapshots are assembled from, each computed once and shared by
 * every gateway that needs it: the mesh settings, the egress catalogue and
 * environment list (mesh-wide), and per environment the ingress services and
 * source identities. A compile moves them forward by the entries its
 * {@link Work} names; an entry that comes out as the same text keeps its old
 * object, so sameness propagates and only gateways whose inputs really
 * changed are reassembled. Sections are deep-frozen and never mutated: the
 * previous compile's stay valid.
 *
 * @module
 */
import type { Hash } from 'node:crypto';
import { canonicalJson, freezeDeep, hashSharedHead } from '../contract/canonical.js';
import {
  gatewayKey,
  type IngressConfig,
  type IngressService,
  type SnapshotGateway,
  type SnapshotMesh,
} from '../contract/snapshot.js';
import type {
  EgressConfig,
  EgressService,
  SnapshotEnvironment,
  SourceIdentity,
} from '../contract/snapshot-egress.js';
import { compileEnvironments, compileGateway } from './compile-mesh.js';
import { compileSourceIdentities } from './compile-service.js';
import type { MeshIndex } from './mesh-index.js';
import { compare, type MeshState, meshStateFrom } from './mesh-state.js';
import type { Work } from './plan.js';
import { advanceServices, type ServiceEntries, sameJson } from './service-sections.js';

export interface Sections extends ServiceEntries {
  /** The state these sections were compiled from. */
  readonly state: MeshState;
  readonly index: MeshIndex;
  readonly mesh: SnapshotMesh;
  readonly bundle: unknown;
  readonly bundleJson: string;
  readonly environments: readonly SnapshotEnvironment[];
  /** The egress entries in catalogue order. */
  readonly egressServices: readonly EgressService[];
  readonly sourceIdentities: ReadonlyMap<string, readonly SourceIdentity[]>;
  /** Per environment, the ingress and egress objects its gateways' snapshots hold. */
  readonly perEnv: ReadonlyMap<string, { readonly ingress: IngressConfig; readonly egress: EgressConfig }>;
  /** Gateway sections by gateway key, for gateways whose environment exists. */
  readonly gateways: ReadonlyMap<string, SnapshotGateway>;
  /** sha256 state after the content every gateway shares (see `canonical.ts`). */
  readonly head: Hash;
}

/** What a full compile moves forward from: nothing, and no head yet. */
export type Base = Omit<Sections, 'head'> & { readonly head?: Hash };

export function emptySections(index: MeshIndex, mesh: SnapshotMesh): Base {
  const none = new Map();
  return {
    state: meshStateFrom([]),
    index,
    mesh,
    bundle: null,
    bundleJson: '', // no JSON text is empty: the first compile always takes the bundle
    environments: [],
    egress: none,
    egressServices: [],
    endpointEnvs: none,
    claims: none,
    ingress: none,
    sourceIdentities: none,
    perEnv: none,
    gateways: none,
  };
}

const byName = (a: EgressService | IngressService, b: EgressService | IngressService) =>
  compare(a.namespace, b.namespace) || compare(a.name, b.name);

/**
 * Moves `base` (the sections of `base.state`) to `state`, recomputing what
 * `work` names. `index` is already `state`'s.
 *
 * @returns the new sections and the keys of the gateways whose content may have changed.
 */
export function advance(
  base: Base,
  state: MeshState,
  index: MeshIndex,
  work: Work,
): { sections: Sections; touched: Set<string> } {
  const known = state.resources.Environment;
  const { mesh } = base;
  const full = !base.head;
  const services = advanceServices(base, state, index, mesh, work.services);
  let { environments, bundle, bundleJson, egressServices } = base;
  let headDirty = full || services.egressDirty;
  if (headDirty) egressServices = freezeDeep([...services.egress.values()].sort(byName));
  if (work.environments) {
    const next = freezeDeep(compileEnvironments(state, index, mesh.trustDomain));
    if (!sameJson(next, environments)) [environments, headDirty] = [next, true];
  }
  const json = canonicalJson(state.bundle ?? null);
  if (json !== bundleJson) [bundle, bundleJson, headDirty] = [freezeDeep(JSON.parse(json)), json, true];

  const envsDirty = new Set(full ? known.keys() : services.ingressDirty);
  const sourceIdentities = new Map(base.sourceIdentities);
  for (const env of full ? known.keys() : services.claimsDirty) {
    if (!known.has(env)) continue;
    const next = freezeDeep(compileSourceIdentities(state, index, env, mesh));
    if (sameJson(next, sourceIdentities.get(env))) continue;
    sourceIdentities.set(env, next);
    envsDirty.add(env);
  }

  const perEnv = new Map(base.perEnv);
  for (const env of headDirty ? known.keys() : envsDirty) {
    const old = perEnv.get(env);
    const ingress =
      old && !services.ingressDirty.has(env)
        ? old.ingress
        : freezeDeep({ services: [...(services.ingress.get(env)?.values() ?? [])].sort(byName) });
    const identities = sourceIdentities.get(env) ?? [];
    const egress = freezeDeep({ services: egressServices, environments, sourceIdentities: identities });
    perEnv.set(env, { ingress, egress });
  }

  const touched = new Set<string>();
  const gateways = new Map(base.gateways);
  for (const name of work.gateways) {
    const was = base.state.resources.Gateway.get(name);
    if (was) gateways.delete(gatewayKey(was.spec.environment, name));
    const is = state.resources.Gateway.get(name);
    if (!is || !known.has(is.spec.environment)) continue;
    const key = gatewayKey(is.spec.environment, name);
    const next = freezeDeep(compileGateway(is, mesh.trustDomain));
    const old = base.gateways.get(key);
    gateways.set(key, old && sameJson(next, old) ? old : next);
    if (gateways.get(key) !== old) touched.add(key);
  }
  for (const [key, gateway] of gateways) {
    if (headDirty || envsDirty.has(gateway.environment)) touched.add(key);
  }
  const head = headDirty || !base.head ? hashSharedHead(bundle, environments, egressServices) : base.head;
  const { egress, endpointEnvs, claims, ingress } = services;
  const entries = {
    egress,
    endpointEnvs,
    claims,
    ingress,
    egressServices,
    sourceIdentities,
    perEnv,
    gateways,
  };
  return { sections: { state, index, mesh, bundle, bundleJson, environments, head, ...entries }, touched };
}
