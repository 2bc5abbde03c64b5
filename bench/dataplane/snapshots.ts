/**
 * Hand-built gateway snapshots for the data plane benchmark, shaped as the
 * compiler shapes them: gateway A's egress sends `svc.bench.weft.internal`
 * (and, for the memory figure, `svc-<i>` too) to environment `b`; gateway
 * B's ingress serves it from one endpoint behind an allow policy for the
 * workload, with the mesh default `deny`, so authorization really decides.
 *
 * @module
 */
import type {
  EgressService,
  GatewaySnapshot,
  IngressService,
  RouteRule,
} from '../../shared/contract/snapshot.js';
import { gatewaySpiffeId, serviceSpiffeId } from '../../shared/model/names.js';

export const TRUST_DOMAIN = 'bench.test';
export const MESH_DOMAIN = 'weft.internal';
/** The service every path calls. */
export const SERVICE_HOST = `svc.bench.${MESH_DOMAIN}`;
/** Who the workload's JWT-SVID names. */
export const WORKLOAD_ID = serviceSpiffeId(TRUST_DOMAIN, 'bench', 'client');

/** Which gateway a snapshot is for. */
export type GatewayRole = 'a' | 'b';
export const GATEWAY_NAMES: Record<GatewayRole, string> = { a: 'gw-a', b: 'gw-b' };

/** What a snapshot needs to know of the running world. */
export interface SnapshotInput {
  readonly role: GatewayRole;
  /** Gateway B's ingress, as A dials it. */
  readonly bIngress: string;
  /** The service's `host:port` (B only). */
  readonly serviceAddress?: string;
  /** Egress services on A: 1 is `svc` alone; more add `svc-1`... each with one route rule. @default 1 */
  readonly routes?: number;
}

const basics = (name: string) => ({
  namespace: 'bench',
  name,
  spiffeId: serviceSpiffeId(TRUST_DOMAIN, 'bench', name),
  host: `${name}.bench.${MESH_DOMAIN}`,
  protocol: 'http' as const,
  ports: [{ port: 80, targetPort: 80 }],
});

/** One PathPrefix rule to environment `b`: a routing decision on every call. */
function rule(name: string): RouteRule {
  return {
    route: `${name}-route`,
    matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [] }],
    backends: [{ environment: 'b', weight: 100 }],
    timeoutMs: 15_000,
    retries: { attempts: 1, perTryTimeoutMs: 5_000, retryOn: ['connect-failure', 'reset', '5xx'] },
    failover: [],
  };
}

function egressService(name: string): EgressService {
  return {
    ...basics(name),
    environments: ['b'],
    routes: [rule(name)],
    outlierDetection: { consecutiveErrors: 5, baseEjectionMs: 30_000, maxEjectionPercent: 100 },
  };
}

function ingressService(address: string): IngressService {
  return {
    ...basics('svc'),
    endpoints: [{ address, weight: 1 }],
    authorization: {
      policies: [
        {
          name: 'bench-client',
          action: 'allow',
          rules: [{ from: [WORKLOAD_ID], methods: ['GET'], paths: ['/*'] }],
        },
      ],
    },
  };
}

/** The snapshot gateway `input.role` gets. */
export function benchSnapshot(input: SnapshotInput): GatewaySnapshot {
  const { role } = input;
  const routes = input.routes ?? 1;
  const names = ['svc', ...Array.from({ length: routes - 1 }, (_, i) => `svc-${i + 1}`)];
  return {
    apiVersion: 'weft.dev/v1',
    kind: 'GatewaySnapshot',
    gateway: {
      name: GATEWAY_NAMES[role],
      environment: role,
      spiffeId: gatewaySpiffeId(TRUST_DOMAIN, role, GATEWAY_NAMES[role]),
      address: role === 'b' ? input.bIngress : '127.0.0.1:0',
    },
    version: String(routes),
    hash: `bench-${role}-${routes}`,
    mesh: {
      trustDomain: TRUST_DOMAIN,
      meshDomain: MESH_DOMAIN,
      defaultAction: 'deny',
      allowSourceAddress: false,
      x509SvidTtlMs: 3_600_000,
      jwtSvidTtlMs: 300_000,
    },
    bundle: null,
    ingress: { services: role === 'b' && input.serviceAddress ? [ingressService(input.serviceAddress)] : [] },
    egress: {
      services: role === 'a' ? names.map(egressService) : [],
      environments: ['a', 'b'].map((env) => ({
        name: env,
        provider: 'local' as const,
        region: 'loopback',
        priority: 100,
        gateways:
          env === 'b'
            ? [
                {
                  name: 'gw-b',
                  spiffeId: gatewaySpiffeId(TRUST_DOMAIN, 'b', 'gw-b'),
                  address: input.bIngress,
                },
              ]
            : [],
      })),
      sourceIdentities: [],
    },
  };
}
