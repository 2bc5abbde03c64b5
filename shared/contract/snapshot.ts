/**
 * The gateway snapshot: everything one gateway agent needs to serve, and
 * nothing more. This is the contract between the compiler and the agent's
 * data plane. Defaults are applied, durations are milliseconds, names are
 * resolved and every array is in a fixed order, so the agent never consults
 * the resource model and equal content is equal text (see `canonical.ts`).
 *
 * @module
 */
import type { AccessPolicySpec, RouteSpec, ServiceSpec } from '../model/specs.js';
import type { EgressConfig } from './snapshot-egress.js';

export type * from './snapshot-egress.js';

export type HttpMethod = NonNullable<AccessPolicySpec['rules'][number]['methods']>[number];
export type Protocol = NonNullable<ServiceSpec['protocol']>;
export type RetryOn = NonNullable<NonNullable<RouteSpec['rules'][number]['retries']>['retryOn']>[number];

/** The key of a gateway's snapshot: `<environment>/<name>`. */
export function gatewayKey(environment: string, name: string): string {
  return `${environment}/${name}`;
}

export interface GatewaySnapshot {
  readonly apiVersion: 'weft.dev/v1';
  readonly kind: 'GatewaySnapshot';
  /** The gateway this snapshot is for; an agent refuses a snapshot addressed to another. */
  readonly gateway: SnapshotGateway;
  /**
   * HLC version of the desired state the content was compiled from. Kept while
   * the content stays the same, so unrelated changes cause no churn; strictly
   * greater whenever the content changes. Agents refuse a version that does
   * not move forward.
   */
  readonly version: string;
  /** sha256 hex of the canonical JSON of this snapshot without `version` and `hash`. */
  readonly hash: string;
  readonly mesh: SnapshotMesh;
  /** The SPIFFE trust bundle as `GET /v1/bundle` serves it; opaque here. `null` before there is one. */
  readonly bundle: unknown;
  /** What this gateway accepts from other gateways and hands to local endpoints. */
  readonly ingress: IngressConfig;
  /** Where this gateway sends its local workloads' calls. */
  readonly egress: EgressConfig;
}

export interface SnapshotGateway {
  readonly name: string;
  readonly environment: string;
  /** `spiffe://<td>/gw/<environment>/<name>`: the URI SAN its X.509-SVID carries. */
  readonly spiffeId: string;
  /** `host:port` of the mTLS listener other gateways dial. */
  readonly address: string;
  /** `host:port` local workloads send calls to; absent when the agent picks its own. */
  readonly egressAddress?: string;
}

/** The Mesh resource with its defaults applied. */
export interface SnapshotMesh {
  readonly trustDomain: string;
  /** Services are called as `<name>.<namespace>.<meshDomain>`. Default `weft.internal`. */
  readonly meshDomain: string;
  /** What happens to a call no allow policy matches. Default `deny`. */
  readonly defaultAction: 'allow' | 'deny';
  /** Whether a caller without a JWT-SVID may be identified by `egress.sourceIdentities`. Default false. */
  readonly allowSourceAddress: boolean;
  /** Default 3,600,000 (1h). */
  readonly x509SvidTtlMs: number;
  /** Default 300,000 (5m). */
  readonly jwtSvidTtlMs: number;
}

export interface ServicePort {
  readonly name?: string;
  /** The port callers address. */
  readonly port: number;
  /** The port endpoints listen on; defaults to `port`. */
  readonly targetPort: number;
}

export interface IngressConfig {
  /** The services with at least one endpoint in this gateway's environment, by namespace then name. */
  readonly services: readonly IngressService[];
}

export interface IngressService {
  readonly namespace: string;
  readonly name: string;
  /** `spiffe://<td>/ns/<namespace>/svc/<name>`: whom a caller expects to reach. */
  readonly spiffeId: string;
  /** `<name>.<namespace>.<meshDomain>`: the Host (and SNI) calls arrive with. */
  readonly host: string;
  readonly protocol: Protocol;
  /** By port number. */
  readonly ports: readonly ServicePort[];
  /**
   * This environment's endpoints only (Workloads and `Service.spec.endpoints`),
   * one per address (weights of duplicates added), by address.
   */
  readonly endpoints: readonly Endpoint[];
  readonly authorization: { readonly policies: readonly AuthorizationPolicy[] };
}

export interface Endpoint {
  /** `host:port`. */
  readonly address: string;
  /** Relative share of new calls; default 1. 0 drains the endpoint: it takes no new calls. */
  readonly weight: number;
}

/**
 * One AccessPolicy of the service, by name. A call is denied when any deny
 * policy matches, else allowed when any allow policy matches, else
 * `mesh.defaultAction` applies.
 */
export interface AuthorizationPolicy {
  readonly name: string;
  readonly action: 'allow' | 'deny';
  /** The policy matches when any rule matches; a rule when all its fields do. */
  readonly rules: readonly AuthorizationRule[];
}

export interface AuthorizationRule {
  /** Caller SPIFFE IDs: exact, a prefix ending in `/*`, or `*` (see `matchesIdentity`). */
  readonly from: readonly string[];
  /** Absent: any method. */
  readonly methods?: readonly HttpMethod[];
  /** Exact paths, or prefixes ending in `*`. Absent: any path. */
  readonly paths?: readonly string[];
  /** All must match. Absent: no header condition. */
  readonly headers?: readonly HeaderMatch[];
}

export interface HeaderMatch {
  /** Lowercased: header names are case-insensitive, and HTTP/2 sends them lowercase. */
  readonly name: string;
  readonly type: 'Exact' | 'Prefix' | 'Present';
  /** Absent for `Present`. */
  readonly value?: string;
}
