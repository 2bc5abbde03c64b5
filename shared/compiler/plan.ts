/**
 * What a change can touch. Each kind reaches a known set of entries:
 *
 * - Mesh: everything (trust domain, mesh domain and defaults are everywhere).
 * - Environment: the environment list; everything when one appears or goes,
 *   since which environments exist filters endpoints, backends and gateways.
 * - Gateway: its own section and the environment list.
 * - Service: its egress entry, and its ingress entry and source identities in
 *   every environment where it had or has endpoints.
 * - Workload: the service it belonged to and the one it belongs to (so the
 *   environments it was and is in).
 * - AccessPolicy: the service it named and names (its ingress entries).
 * - Route: the service it named and names (its egress entry).
 *
 * The trust bundle is not a resource: the compiler compares it itself. A
 * recomputed entry that comes out the same text stops there, so a workload's
 * weight change never reaches the egress catalogue and another environment.
 *
 * @module
 */
import type { ResourceKey } from '../model/kinds.js';
import type { Resource } from '../model/resource.js';
import { type MeshState, namespaceOf, resourceId } from './mesh-state.js';

/** The entries to recompute. */
export interface Work {
  /** Service ids (`<namespace>/<name>`), existing or gone. */
  readonly services: ReadonlySet<string>;
  /** Gateway names, existing or gone. */
  readonly gateways: ReadonlySet<string>;
  /** Whether to recompute the environment list. */
  readonly environments: boolean;
}

/** Everything: what a full compile does. */
export function fullWork(state: MeshState): Work {
  return {
    services: new Set(state.resources.Service.keys()),
    gateways: new Set(state.resources.Gateway.keys()),
    environments: true,
  };
}

/** The work `keys` cause between `before` and `after`, or `'full'` when they reach everything. */
export function planChanges(
  before: MeshState,
  after: MeshState,
  keys: readonly ResourceKey[],
): Work | 'full' {
  const services = new Set<string>();
  const gateways = new Set<string>();
  let environments = false;
  for (const key of keys) {
    const id = resourceId(key);
    const was = before.resources[key.kind].get(id) as Resource | undefined;
    const is = after.resources[key.kind].get(id) as Resource | undefined;
    if (key.kind === 'Mesh') return 'full';
    if (key.kind === 'Environment' && !was !== !is) return 'full';
    environments ||= key.kind === 'Environment' || key.kind === 'Gateway';
    if (key.kind === 'Gateway' || key.kind === 'Service') {
      (key.kind === 'Gateway' ? gateways : services).add(id);
      continue;
    }
    for (const r of [was, is]) {
      if (r?.kind === 'Workload' || r?.kind === 'AccessPolicy' || r?.kind === 'Route') {
        services.add(`${namespaceOf(r)}/${r.spec.service}`);
      }
    }
  }
  return { services, gateways, environments };
}
