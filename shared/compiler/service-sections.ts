/**
 * Moves the per-service entries forward: for each service a change names,
 * its egress entry, its ingress entry in every environment where it had or
 * has endpoints, and the source addresses its workloads claim there. What
 * comes out as the same text keeps its old object and marks nothing dirty.
 *
 * @module
 */
import { canonicalJson, freezeDeep } from '../contract/canonical.js';
import type { IngressService, SnapshotMesh } from '../contract/snapshot.js';
import type { EgressService } from '../contract/snapshot-egress.js';
import {
  compileAuthorization,
  compileEgressService,
  compileIngressService,
  endpointsOf,
  serviceBasics,
  sourceAddressesOf,
} from './compile-service.js';
import type { MeshIndex } from './mesh-index.js';
import type { MeshState } from './mesh-state.js';

/** The per-service parts of the sections. */
export interface ServiceEntries {
  /** Egress entries by service id. */
  readonly egress: ReadonlyMap<string, EgressService>;
  /** Per service id, the environments its endpoints name: where its ingress entries are. */
  readonly endpointEnvs: ReadonlyMap<string, readonly string[]>;
  /** Per service id and environment, the source addresses its workloads there claim. */
  readonly claims: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Per environment, ingress entries by service id. */
  readonly ingress: ReadonlyMap<string, ReadonlyMap<string, IngressService>>;
}

/** The entries moved forward, and what that dirtied. */
export interface ServicesAdvanced extends ServiceEntries {
  readonly egressDirty: boolean;
  /** Environments whose ingress list changed. */
  readonly ingressDirty: ReadonlySet<string>;
  /** Environments whose source identities may have changed. */
  readonly claimsDirty: ReadonlySet<string>;
}

export const sameJson = (a: unknown, b: unknown) =>
  a === b || (a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b));
const NONE: ReadonlyMap<string, never> = new Map<string, never>();

export function advanceServices(
  base: ServiceEntries,
  state: MeshState,
  index: MeshIndex,
  mesh: SnapshotMesh,
  ids: Iterable<string>,
): ServicesAdvanced {
  const known = state.resources.Environment;
  const egress = new Map(base.egress);
  const endpointEnvs = new Map(base.endpointEnvs);
  const claims = new Map(base.claims);
  const ingress = new Map(base.ingress);
  const copied = new Set<string>();
  const ingressDirty = new Set<string>();
  const claimsDirty = new Set<string>();
  let egressDirty = false;
  for (const id of ids) {
    const service = state.resources.Service.get(id);
    const endpoints = service ? endpointsOf(state, index, id, service) : new Map();
    const envs = new Set([...(endpointEnvs.get(id) ?? []), ...endpoints.keys()]);
    if (endpoints.size > 0) endpointEnvs.set(id, [...endpoints.keys()]);
    else endpointEnvs.delete(id);
    const basics = service && serviceBasics(service, mesh);
    const entry = basics && freezeDeep(compileEgressService(state, index, id, basics, endpoints));
    if (!sameJson(entry, egress.get(id))) {
      if (entry) egress.set(id, entry);
      else egress.delete(id);
      egressDirty = true;
    }
    const authorization = service && compileAuthorization(state, index, id);
    for (const env of envs) {
      if (!known.has(env)) continue;
      const here = endpoints.get(env);
      const next = basics && here && freezeDeep(compileIngressService(basics, here, authorization!));
      if (sameJson(next, ingress.get(env)?.get(id))) continue;
      if (!copied.has(env)) ingress.set(env, new Map(ingress.get(env) ?? NONE));
      copied.add(env);
      const services = ingress.get(env) as Map<string, IngressService>;
      if (next) services.set(id, next);
      else services.delete(id);
      ingressDirty.add(env);
    }
    // Only a service's own claims can change its environments' source identities.
    if (!mesh.allowSourceAddress) continue;
    const was = claims.get(id) ?? NONE;
    const is = service ? sourceAddressesOf(state, index, id) : NONE;
    for (const env of new Set([...was.keys(), ...is.keys()])) {
      if (was.get(env) !== is.get(env)) claimsDirty.add(env);
    }
    if (is.size > 0) claims.set(id, is);
    else claims.delete(id);
  }
  return { egress, endpointEnvs, claims, ingress, egressDirty, ingressDirty, claimsDirty };
}
