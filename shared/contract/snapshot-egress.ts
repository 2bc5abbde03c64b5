/**
 * The egress half of a gateway snapshot: the mesh's service catalogue with
 * its compiled routes, the environments and their gateways to dial, and who
 * local callers are by source address. All but `sourceIdentities` is the same
 * for every gateway of the mesh, and is shared, not copied.
 *
 * @module
 */
import type { Provider } from '../model/specs.js';
import type { HeaderMatch, HttpMethod, Protocol, RetryOn, ServicePort } from './snapshot.js';

export interface EgressConfig {
  /** Every Service of the mesh, by namespace then name. */
  readonly services: readonly EgressService[];
  /** Every Environment, by name, with the gateways that serve it. */
  readonly environments: readonly SnapshotEnvironment[];
  /**
   * This environment's Workloads' `sourceAddresses`, by address, each mapped to
   * its service's SPIFFE ID. Empty unless `mesh.allowSourceAddress`. An
   * address claimed by two services is left out: identity must be unambiguous.
   */
  readonly sourceIdentities: readonly SourceIdentity[];
}

export interface EgressService {
  readonly namespace: string;
  readonly name: string;
  /** `<name>.<namespace>.<meshDomain>`: what local workloads call. */
  readonly host: string;
  /** The identity the remote ingress gateway must present for this service. */
  readonly spiffeId: string;
  readonly protocol: Protocol;
  /** By port number. */
  readonly ports: readonly ServicePort[];
  /**
   * Environments (that exist) where the service has endpoints of positive total
   * weight, by name. Empty: there is nowhere to send a call (503).
   */
  readonly environments: readonly string[];
  /**
   * The rules of every Route for this service, by Route name, then in written
   * order; the first rule that matches wins. Empty: no Route, so calls go to
   * `environments`, the local one first, then by environment priority.
   */
  readonly routes: readonly RouteRule[];
  /** From the first Route (by name) that sets it, with defaults. */
  readonly outlierDetection: OutlierDetection;
}

export interface RouteRule {
  /** The Route this rule came from, for logs and metrics. */
  readonly route: string;
  /** The rule matches when any of these does; `[{ headers: [] }]` matches every call. */
  readonly matches: readonly RouteMatch[];
  /**
   * Weighted environments (default weight 1), by environment; environments
   * that do not exist are dropped. May be empty: then only `failover` serves.
   */
  readonly backends: readonly RouteBackend[];
  /** Whole-call budget, retries included. Default 15,000. */
  readonly timeoutMs: number;
  readonly retries: RetryPolicy;
  /** Environments to try in this order when the backends fail; unknown ones dropped. */
  readonly failover: readonly string[];
}

export interface RouteMatch {
  /** Absent: any path. */
  readonly path?: { readonly type: 'Exact' | 'PathPrefix'; readonly value: string };
  /** Absent: any method. */
  readonly method?: HttpMethod;
  /** All must match. */
  readonly headers: readonly HeaderMatch[];
}

export interface RouteBackend {
  readonly environment: string;
  readonly weight: number;
}

/**
 * Without `retries` in the Route: no retries. With it, `retryOn` defaults to
 * transport failures only (`connect-failure`, `reset`): retrying on `5xx`
 * multiplies load on a failing service, so it is opt-in.
 */
export interface RetryPolicy {
  readonly attempts: number;
  /** Default: the rule's `timeoutMs`. */
  readonly perTryTimeoutMs: number;
  /** Sorted, without duplicates. */
  readonly retryOn: readonly RetryOn[];
}

export interface OutlierDetection {
  /** Default 5. */
  readonly consecutiveErrors: number;
  /** Default 30,000. */
  readonly baseEjectionMs: number;
  /** Default 100. */
  readonly maxEjectionPercent: number;
}

export interface SnapshotEnvironment {
  readonly name: string;
  readonly provider: Provider;
  readonly region: string;
  readonly zone?: string;
  /** Lower is preferred in failover. Default 100. */
  readonly priority: number;
  /** The gateways homed here, by name: where calls to this environment go. */
  readonly gateways: readonly EnvironmentGateway[];
}

export interface EnvironmentGateway {
  readonly name: string;
  /** The identity the dialled gateway must present. */
  readonly spiffeId: string;
  /** Its mTLS `host:port`. */
  readonly address: string;
}

export interface SourceIdentity {
  /** An IP address as registered, lowercased. */
  readonly address: string;
  readonly spiffeId: string;
}
