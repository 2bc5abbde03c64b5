/**
 * Reverse references the compiler follows: a service's workloads, policies and
 * routes, an environment's workloads and gateways. Built once by a full
 * compile, then moved forward change by change, copying only what a change
 * touches so the index a previous compile returned stays valid.
 *
 * @module
 */
import type { ResourceKey } from '../model/kinds.js';
import type { Resource } from '../model/resource.js';
import { type MeshState, namespaceOf, resourceId } from './mesh-state.js';

type Bucket = 'workloadsOf' | 'workloadsIn' | 'policiesOf' | 'routesOf' | 'gatewaysIn';

/** Where `resource` is filed: service buckets by `<namespace>/<service>`, environment ones by name. */
function placements(resource: Resource): [Bucket, string][] {
  const ns = namespaceOf(resource);
  switch (resource.kind) {
    case 'Workload':
      return [
        ['workloadsOf', `${ns}/${resource.spec.service}`],
        ['workloadsIn', resource.spec.environment],
      ];
    case 'AccessPolicy':
      return [['policiesOf', `${ns}/${resource.spec.service}`]];
    case 'Route':
      return [['routesOf', `${ns}/${resource.spec.service}`]];
    case 'Gateway':
      return [['gatewaysIn', resource.spec.environment]];
    default:
      return [];
  }
}

const INDEXED = ['Workload', 'AccessPolicy', 'Route', 'Gateway'] as const;
const NONE: ReadonlySet<string> = new Set();

export class MeshIndex {
  private constructor(private readonly buckets: Record<Bucket, Map<string, Set<string>>>) {}

  /** Indexes every resource of `state`. */
  static build(state: MeshState): MeshIndex {
    const index = new MeshIndex({
      workloadsOf: new Map(),
      workloadsIn: new Map(),
      policiesOf: new Map(),
      routesOf: new Map(),
      gatewaysIn: new Map(),
    });
    for (const kind of INDEXED) {
      for (const [id, resource] of state.resources[kind]) index.file(resource, id, true, undefined);
    }
    return index;
  }

  /** Ids in one bucket: e.g. `get('workloadsOf', 'shop/orders')`. */
  get(bucket: Bucket, key: string): ReadonlySet<string> {
    return this.buckets[bucket].get(key) ?? NONE;
  }

  /** The index of `after`, given that it differs from `before` (this index's state) only at `keys`. */
  update(before: MeshState, after: MeshState, keys: readonly ResourceKey[]): MeshIndex {
    const next = new MeshIndex({ ...this.buckets });
    const copied = new Set<string>();
    for (const key of keys) {
      const id = resourceId(key);
      const old = before.resources[key.kind].get(id) as Resource | undefined;
      const now = after.resources[key.kind].get(id) as Resource | undefined;
      if (old) next.file(old, id, false, copied);
      if (now) next.file(now, id, true, copied);
    }
    return next;
  }

  /** Adds or removes `id`; with `copied`, copies each map and set on its first write. */
  private file(resource: Resource, id: string, add: boolean, copied: Set<string> | undefined): void {
    for (const [bucket, key] of placements(resource)) {
      if (copied && !copied.has(bucket)) {
        this.buckets[bucket] = new Map(this.buckets[bucket]);
        copied.add(bucket);
      }
      const map = this.buckets[bucket];
      let ids = map.get(key);
      if (copied && !copied.has(`${bucket}:${key}`)) {
        ids = new Set(ids);
        map.set(key, ids);
        copied.add(`${bucket}:${key}`);
      } else if (!ids) {
        ids = new Set();
        map.set(key, ids);
      }
      if (add) ids.add(id);
      else ids.delete(id);
    }
  }
}
