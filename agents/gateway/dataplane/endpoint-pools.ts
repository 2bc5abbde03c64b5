/**
 * The ingress side's upstreams: plain HTTP keep-alive pools to this
 * environment's endpoints, and a smooth weighted round robin per service so
 * each endpoint gets exactly its share (weight 0 drains it). Balancers keep
 * their position across snapshots that leave a service's endpoints alone.
 *
 * @module
 */
import { type Dispatcher, Pool } from 'undici';
import type { Endpoint, IngressService } from '../../../shared/contract/snapshot.js';
import { SmoothWeightedRoundRobin } from './weighted.js';

/** Options of {@link EndpointPools}. */
export interface EndpointPoolOptions {
  /** Connections per endpoint. @default 64 */
  readonly connections?: number;
  /** @default 2_000 */
  readonly connectTimeoutMs?: number;
}

interface Balancer {
  readonly key: string;
  readonly rr: SmoothWeightedRoundRobin<Endpoint>;
}

const endpointsKey = (s: IngressService) => s.endpoints.map((e) => `${e.address}=${e.weight}`).join(' ');

/** Pools and balancers for the local endpoints of every service this gateway serves. */
export class EndpointPools {
  readonly #options: EndpointPoolOptions;
  readonly #pools = new Map<string, Pool>();
  readonly #balancers = new Map<string, Balancer>();
  /** The balancer last found for a snapshot entry: skips building its key on every call. */
  #seen = new WeakMap<IngressService, Balancer>();

  constructor(options: EndpointPoolOptions = {}) {
    this.#options = options;
  }

  /** The next endpoint for `service`, or `undefined` when all are drained. */
  next(service: IngressService): Endpoint | undefined {
    return this.#balancer(service).rr.next();
  }

  /** How many endpoints of `service` take calls. */
  live(service: IngressService): number {
    return this.#balancer(service).rr.size;
  }

  /** The pool to `address` (`host:port`). */
  pool(address: string): Dispatcher {
    let pool = this.#pools.get(address);
    if (!pool) {
      pool = new Pool(`http://${address}`, {
        connections: this.#options.connections ?? 64,
        connect: { timeout: this.#options.connectTimeoutMs ?? 2_000 },
      });
      this.#pools.set(address, pool);
    }
    return pool;
  }

  /** Keeps what `services` still use; closes pools of endpoints gone (after their calls finish). */
  retain(services: Iterable<IngressService>): void {
    const hosts = new Set<string>();
    const addresses = new Set<string>();
    for (const s of services) {
      hosts.add(s.host);
      for (const e of s.endpoints) addresses.add(e.address);
    }
    for (const host of this.#balancers.keys()) if (!hosts.has(host)) this.#balancers.delete(host);
    for (const [address, pool] of this.#pools) {
      if (addresses.has(address)) continue;
      this.#pools.delete(address);
      void pool.close().catch(() => pool.destroy());
    }
  }

  /** Closes every pool once its calls finish. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }

  #balancer(service: IngressService): Balancer {
    const seen = this.#seen.get(service);
    if (seen && this.#balancers.get(service.host) === seen) return seen;
    const key = endpointsKey(service);
    let balancer = this.#balancers.get(service.host);
    if (balancer?.key !== key) {
      balancer = { key, rr: new SmoothWeightedRoundRobin(service.endpoints) };
      this.#balancers.set(service.host, balancer);
    }
    this.#seen.set(service, balancer);
    return balancer;
  }
}
