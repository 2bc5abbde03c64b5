/**
 * Hand-built gateway snapshots: a small description of a mesh (environments
 * with their gateways, services with endpoints, policies and route rules)
 * turned into the snapshot each gateway would get, the way the compiler
 * shapes it (defaults applied, hosts and SPIFFE IDs resolved, sorted).
 *
 * @module
 */
import type {
  AuthorizationPolicy,
  Endpoint,
  GatewaySnapshot,
  OutlierDetection,
  RouteRule,
  SourceIdentity,
} from '../../../../../shared/contract/snapshot.js';
import { gatewaySpiffeId, serviceSpiffeId } from '../../../../../shared/model/names.js';
import { TRUST_DOMAIN } from '../../../../support/mesh-ca.js';

export const MESH_DOMAIN = 'weft.internal';

export interface TestEnvironment {
  readonly name: string;
  readonly priority?: number;
  /** Gateway name -> ingress `host:port`. */
  readonly gateways: Readonly<Record<string, string>>;
}

export interface TestService {
  readonly namespace: string;
  readonly name: string;
  /** Environment -> endpoints. */
  readonly endpoints: Readonly<Record<string, readonly Endpoint[]>>;
  readonly policies?: readonly AuthorizationPolicy[];
  readonly routes?: readonly RouteRule[];
  readonly outlierDetection?: Partial<OutlierDetection>;
}

export interface TestMesh {
  readonly environments: readonly TestEnvironment[];
  readonly services: readonly TestService[];
  readonly defaultAction?: 'allow' | 'deny';
  readonly allowSourceAddress?: boolean;
  /** Environment -> callers identified by address. */
  readonly sourceIdentities?: Readonly<Record<string, readonly SourceIdentity[]>>;
}

export const hostOf = (s: { name: string; namespace: string }) => `${s.name}.${s.namespace}.${MESH_DOMAIN}`;
export const serviceId = (namespace: string, name: string) => serviceSpiffeId(TRUST_DOMAIN, namespace, name);
export const gatewayId = (environment: string, name: string) =>
  gatewaySpiffeId(TRUST_DOMAIN, environment, name);

/** A route rule with the compiler's defaults, for `overrides` to change. */
export function routeRule(overrides: Partial<RouteRule> = {}): RouteRule {
  return {
    route: 'test-route',
    matches: [{ headers: [] }],
    backends: [],
    timeoutMs: 15_000,
    retries: { attempts: 0, perTryTimeoutMs: 15_000, retryOn: [] },
    failover: [],
    ...overrides,
  };
}

/** The snapshot `environment/gateway` gets for `mesh`. */
export function snapshotFor(
  mesh: TestMesh,
  environment: string,
  gateway: string,
  version = '1',
): GatewaySnapshot {
  const basics = (s: TestService) => ({
    namespace: s.namespace,
    name: s.name,
    spiffeId: serviceId(s.namespace, s.name),
    host: hostOf(s),
    protocol: 'http' as const,
    ports: [{ port: 80, targetPort: 80 }],
  });
  const env = mesh.environments.find((e) => e.name === environment)!;
  return {
    apiVersion: 'weft.dev/v1',
    kind: 'GatewaySnapshot',
    gateway: {
      name: gateway,
      environment,
      spiffeId: gatewayId(environment, gateway),
      address: env.gateways[gateway]!,
    },
    version,
    hash: `hash-${version}`,
    mesh: {
      trustDomain: TRUST_DOMAIN,
      meshDomain: MESH_DOMAIN,
      defaultAction: mesh.defaultAction ?? 'deny',
      allowSourceAddress: mesh.allowSourceAddress ?? false,
      x509SvidTtlMs: 3_600_000,
      jwtSvidTtlMs: 300_000,
    },
    bundle: null,
    ingress: {
      services: mesh.services
        .filter((s) => s.endpoints[environment]?.length)
        .map((s) => ({
          ...basics(s),
          endpoints: s.endpoints[environment]!,
          authorization: { policies: s.policies ?? [] },
        })),
    },
    egress: {
      services: mesh.services.map((s) => ({
        ...basics(s),
        environments: Object.entries(s.endpoints)
          .filter(([, eps]) => eps.some((e) => e.weight > 0))
          .map(([name]) => name)
          .sort(),
        routes: s.routes ?? [],
        outlierDetection: {
          consecutiveErrors: 5,
          baseEjectionMs: 30_000,
          maxEjectionPercent: 100,
          ...s.outlierDetection,
        },
      })),
      environments: mesh.environments.map((e) => ({
        name: e.name,
        provider: 'local' as const,
        region: 'loopback',
        priority: e.priority ?? 100,
        gateways: Object.entries(e.gateways).map(([name, address]) => ({
          name,
          spiffeId: gatewayId(e.name, name),
          address,
        })),
      })),
      sourceIdentities: mesh.allowSourceAddress ? (mesh.sourceIdentities?.[environment] ?? []) : [],
    },
  };
}
