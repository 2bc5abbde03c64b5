/**
 * One service's entries: its endpoints per environment, its ingress entry in
 * one environment, its egress entry, and the source identities of an
 * environment's workloads. Each reads only what its section depends on, which
 * is what lets an incremental compile recompute one service and nothing else.
 *
 * @module
 */

import type { Endpoint, IngressService, ServicePort, SnapshotMesh } from '../contract/snapshot.js';
import type { EgressService, SourceIdentity } from '../contract/snapshot-egress.js';
import { serviceSpiffeId } from '../model/names.js';
import type { ResourceOf } from '../model/resource.js';
import { compilePolicy, compileRoutes } from './compile-rules.js';
import type { MeshIndex } from './mesh-index.js';
import { compare, type MeshState, namespaceOf } from './mesh-state.js';

/** What a service's ingress and egress entries share; built once per service and compile. */
export type ServiceBasics = Pick<
  EgressService,
  'namespace' | 'name' | 'host' | 'spiffeId' | 'protocol' | 'ports'
>;

export function serviceBasics(service: ResourceOf<'Service'>, mesh: SnapshotMesh): ServiceBasics {
  const namespace = namespaceOf(service);
  const { name } = service.metadata;
  const ports: ServicePort[] = service.spec.ports
    .map((p) => ({
      ...(p.name !== undefined && { name: p.name }),
      port: p.port,
      targetPort: p.targetPort ?? p.port,
    }))
    .sort((a, b) => a.port - b.port || a.targetPort - b.targetPort || compare(a.name ?? '', b.name ?? ''));
  return {
    namespace,
    name,
    host: `${name}.${namespace}.${mesh.meshDomain}`,
    spiffeId: serviceSpiffeId(mesh.trustDomain, namespace, name),
    protocol: service.spec.protocol ?? 'http',
    ports,
  };
}

/** The service's endpoints in every environment they name (existing or not), by address. */
export function endpointsOf(
  state: MeshState,
  index: MeshIndex,
  id: string,
  service: ResourceOf<'Service'>,
): Map<string, Endpoint[]> {
  const weights = new Map<string, Map<string, number>>();
  const add = (environment: string, address: string, weight = 1) => {
    const env = weights.get(environment) ?? new Map<string, number>();
    weights.set(environment, env.set(address, (env.get(address) ?? 0) + weight));
  };
  for (const wl of index.get('workloadsOf', id)) {
    const { spec } = state.resources.Workload.get(wl)!;
    add(spec.environment, spec.address, spec.weight);
  }
  for (const e of service.spec.endpoints ?? []) add(e.environment, e.address, e.weight);
  const result = new Map<string, Endpoint[]>();
  for (const [env, byAddress] of weights) {
    const endpoints = [...byAddress].map(([address, weight]) => ({ address, weight }));
    result.set(
      env,
      endpoints.sort((a, b) => compare(a.address, b.address)),
    );
  }
  return result;
}

/** The service's AccessPolicies by name: attached once, shared by its entry in every environment. */
export function compileAuthorization(state: MeshState, index: MeshIndex, id: string) {
  const ids = [...index.get('policiesOf', id)].sort(compare);
  return { policies: ids.map((p) => compilePolicy(state.resources.AccessPolicy.get(p)!)) };
}

export function compileIngressService(
  basics: ServiceBasics,
  endpoints: readonly Endpoint[],
  authorization: IngressService['authorization'],
): IngressService {
  return { ...basics, endpoints, authorization };
}

export function compileEgressService(
  state: MeshState,
  index: MeshIndex,
  id: string,
  basics: ServiceBasics,
  endpoints: ReadonlyMap<string, readonly Endpoint[]>,
): EgressService {
  const known = state.resources.Environment;
  // Drained (all weight 0) environments get no calls, so the catalogue leaves them out.
  const environments = [...endpoints]
    .filter(([env, eps]) => known.has(env) && eps.some((e) => e.weight > 0))
    .map(([env]) => env)
    .sort(compare);
  const routeIds = [...index.get('routesOf', id)].sort(compare);
  const { rules, outlierDetection } = compileRoutes(
    routeIds.map((r) => state.resources.Route.get(r)!),
    known,
  );
  return { ...basics, environments, routes: rules, outlierDetection };
}

/** Per environment, the source addresses the service's workloads there claim, as one comparable text. */
export function sourceAddressesOf(state: MeshState, index: MeshIndex, id: string): Map<string, string> {
  const byEnv = new Map<string, Set<string>>();
  for (const wl of index.get('workloadsOf', id)) {
    const { spec } = state.resources.Workload.get(wl)!;
    if (!spec.sourceAddresses?.length) continue;
    const addresses = byEnv.get(spec.environment) ?? new Set();
    for (const a of spec.sourceAddresses) addresses.add(a.toLowerCase());
    byEnv.set(spec.environment, addresses);
  }
  return new Map([...byEnv].map(([env, addresses]) => [env, [...addresses].sort(compare).join(' ')]));
}

/** Who this environment's workloads are, by the addresses they call from. */
export function compileSourceIdentities(
  state: MeshState,
  index: MeshIndex,
  environment: string,
  mesh: SnapshotMesh,
): SourceIdentity[] {
  if (!mesh.allowSourceAddress) return [];
  const claims = new Map<string, string | null>();
  for (const wl of index.get('workloadsIn', environment)) {
    const workload = state.resources.Workload.get(wl)!;
    const namespace = namespaceOf(workload);
    if (!state.resources.Service.has(`${namespace}/${workload.spec.service}`)) continue;
    const spiffeId = serviceSpiffeId(mesh.trustDomain, namespace, workload.spec.service);
    for (const written of workload.spec.sourceAddresses ?? []) {
      const address = written.toLowerCase();
      const seen = claims.get(address);
      claims.set(address, seen === undefined || seen === spiffeId ? spiffeId : null);
    }
  }
  return [...claims]
    .filter((c): c is [string, string] => c[1] !== null)
    .map(([address, spiffeId]) => ({ address, spiffeId }))
    .sort((a, b) => compare(a.address, b.address));
}
