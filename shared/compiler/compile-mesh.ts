/**
 * The mesh-wide sections: the Mesh settings with defaults, the environments
 * with their gateways, and one gateway's own section.
 *
 * @module
 */

import type { SnapshotGateway, SnapshotMesh } from '../contract/snapshot.js';
import type { SnapshotEnvironment } from '../contract/snapshot-egress.js';
import { parseDuration } from '../model/duration.js';
import { gatewaySpiffeId } from '../model/names.js';
import type { ResourceOf } from '../model/resource.js';
import type { MeshIndex } from './mesh-index.js';
import { compare, type MeshState } from './mesh-state.js';

export const DEFAULT_MESH_DOMAIN = 'weft.internal';
export const DEFAULT_PRIORITY = 100;

/** The Mesh's settings with the documented defaults applied. */
export function compileMesh(mesh: ResourceOf<'Mesh'>): SnapshotMesh {
  const { spec } = mesh;
  return {
    trustDomain: spec.trustDomain,
    meshDomain: spec.meshDomain ?? DEFAULT_MESH_DOMAIN,
    defaultAction: spec.defaultAction ?? 'deny',
    allowSourceAddress: spec.identity?.allowSourceAddress ?? false,
    x509SvidTtlMs: parseDuration(spec.credentials?.x509SvidTtl ?? '1h'),
    jwtSvidTtlMs: parseDuration(spec.credentials?.jwtSvidTtl ?? '5m'),
  };
}

/**
 * Why a state cannot be compiled, or `undefined` when it has exactly one
 * Mesh. Without one there is no trust domain; with two, picking either would
 * silently re-key every identity, so the compiler refuses and the gateways
 * keep serving what they have.
 */
export function meshProblem(state: MeshState): string | undefined {
  const names = [...state.resources.Mesh.keys()].sort();
  if (names.length === 0) return 'no Mesh resource: a mesh needs its trust domain; apply a Mesh first';
  if (names.length > 1) return `${names.length} Mesh resources (${names.join(', ')}): delete all but one`;
  return undefined;
}

/** The one Mesh of a state that {@link meshProblem} accepts. */
export function theMesh(state: MeshState): ResourceOf<'Mesh'> {
  const [mesh] = state.resources.Mesh.values();
  if (!mesh) throw new TypeError('the state has no Mesh; check meshProblem first');
  return mesh;
}

/** Every Environment, by name, with its gateways by name. */
export function compileEnvironments(
  state: MeshState,
  index: MeshIndex,
  trustDomain: string,
): SnapshotEnvironment[] {
  const gateways = state.resources.Gateway;
  return [...state.resources.Environment.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([name, { spec }]) => ({
      name,
      provider: spec.provider,
      region: spec.region,
      ...(spec.zone !== undefined && { zone: spec.zone }),
      priority: spec.priority ?? DEFAULT_PRIORITY,
      gateways: [...index.get('gatewaysIn', name)].sort(compare).map((gw) => ({
        name: gw,
        spiffeId: gatewaySpiffeId(trustDomain, name, gw),
        address: gateways.get(gw)!.spec.address,
      })),
    }));
}

/** One gateway's own section. */
export function compileGateway(gateway: ResourceOf<'Gateway'>, trustDomain: string): SnapshotGateway {
  const { name } = gateway.metadata;
  const { environment, address, egressAddress } = gateway.spec;
  return {
    name,
    environment,
    spiffeId: gatewaySpiffeId(trustDomain, environment, name),
    address,
    ...(egressAddress !== undefined && { egressAddress }),
  };
}
