/**
 * The two calls through the mesh `weft up` offers to try: one a policy
 * allows and one a policy denies, each from a service's own environment
 * through its gateway's egress to a service in another environment. They are
 * found in the snapshots the gateways actually applied, and checked with the
 * data plane's own routing and authorization functions, so a printed line
 * says what really happens: a Route that splits traffic by weight (the call
 * could land anywhere), or a mesh with no such pair, yields nothing to print.
 *
 * @module
 */
import {
  authorize,
  chooseEnvironment,
  defaultEnvironmentOrder,
  selectRoute,
} from '../agents/gateway/dataplane/index.js';
import type { AuthorizationPolicy, EgressService, GatewaySnapshot } from '../shared/contract/snapshot.js';
import { matchesIdentity } from '../shared/model/names.js';

/** One call: who, through which egress, to what, where it lands and what decides it. */
export interface MeshCall {
  /** The caller's SPIFFE ID: a service with an endpoint in `from`. */
  readonly identity: string;
  /** The caller's environment, and its gateway's egress `host:port`. */
  readonly from: string;
  readonly egress: string;
  /** `http://<service host><path>`. */
  readonly url: string;
  readonly service: EgressService;
  /** The environment whose gateway gets the call, whatever the weighted draw. */
  readonly to: string;
  /** `<policy>/<rule index>`, as the ingress gateway reports it. */
  readonly decidedBy: string;
}

export interface MeshCalls {
  readonly allowed?: MeshCall;
  readonly denied?: MeshCall;
}

type Candidate = Omit<MeshCall, 'to' | 'decidedBy'>;

/**
 * The first allowed call in gateway, then service order, and a call by the
 * same caller to the same service that a deny policy (not the default)
 * refuses.
 *
 * @param snapshots the applied snapshot of each gateway, in the order to prefer callers' environments.
 */
export function findMeshCalls(snapshots: readonly GatewaySnapshot[]): MeshCalls {
  for (const source of snapshots) {
    const egress = source.gateway.egressAddress;
    if (!egress) continue;
    for (const service of source.egress.services) {
      const policies = policiesOf(snapshots, service.host);
      for (const [identity, path] of allowedRequests(policies, source)) {
        const call: Candidate = {
          identity,
          from: source.gateway.environment,
          egress,
          service,
          url: url(service, path),
        };
        const allowed = decide(snapshots, source, call, path);
        if (!allowed?.allowed) continue;
        const denied = deniedPaths(policies, identity)
          .map((p) => decide(snapshots, source, { ...call, url: url(service, p) }, p))
          .find((d) => d && !d.allowed && d.call.decidedBy !== 'default');
        return { allowed: allowed.call, ...(denied && { denied: denied.call }) };
      }
    }
  }
  return {};
}

/** Every policy of the service, as the gateways with an endpoint of it enforce them. */
function policiesOf(snapshots: readonly GatewaySnapshot[], host: string): readonly AuthorizationPolicy[] {
  for (const s of snapshots) {
    const ingress = s.ingress.services.find((i) => i.host === host);
    if (ingress) return ingress.authorization.policies;
  }
  return [];
}

/** `[identity, path]` an allow rule names exactly, for callers with an endpoint in the source's environment. */
function allowedRequests(
  policies: readonly AuthorizationPolicy[],
  source: GatewaySnapshot,
): [string, string][] {
  const env = source.gateway.environment;
  const runsHere = (id: string) =>
    source.egress.services.some((s) => s.spiffeId === id && s.environments.includes(env));
  return policies
    .filter((p) => p.action === 'allow')
    .flatMap((p) => p.rules)
    .filter((r) => !r.methods || r.methods.includes('GET'))
    .flatMap((r) =>
      r.from
        .filter((id) => !id.includes('*') && runsHere(id))
        .flatMap((id) => (r.paths ?? ['/*']).map((p): [string, string] => [id, examplePath(p, '7')])),
    );
}

/** Paths a deny rule covering `identity` names, for GET. */
function deniedPaths(policies: readonly AuthorizationPolicy[], identity: string): string[] {
  return policies
    .filter((p) => p.action === 'deny')
    .flatMap((p) => p.rules)
    .filter(
      (r) => (!r.methods || r.methods.includes('GET')) && r.from.some((f) => matchesIdentity(f, identity)),
    )
    .flatMap((r) => (r.paths ?? ['/*']).map((p) => examplePath(p, '')));
}

/** A concrete path a policy path covers: `/orders*` -> `/orders/7`, `/admin*` -> `/admin`. */
function examplePath(pattern: string, leaf: string): string {
  if (!pattern.endsWith('*')) return pattern;
  const base = pattern.slice(0, -1).replace(/\/+$/, '');
  return leaf ? `${base}/${leaf}` : base || '/';
}

const url = (service: EgressService, path: string) => `http://${service.host}${path}`;

/**
 * Routes a GET as the source's egress would, to another environment only,
 * whatever the weighted draw, and authorizes it as that environment's gateway would.
 */
function decide(
  snapshots: readonly GatewaySnapshot[],
  source: GatewaySnapshot,
  call: Candidate,
  path: string,
) {
  const { service } = call;
  const request = { method: 'GET', path, headers: {} };
  const rule = selectRoute(request, service);
  if (!rule && service.routes.length > 0) return undefined;
  const environments = new Map(source.egress.environments.map((e) => [e.name, e]));
  const choose = (random: () => number) =>
    chooseEnvironment({
      service,
      rule,
      defaultOrder: defaultEnvironmentOrder(service, call.from, environments),
      environments,
      isEjected: () => false,
      random,
    });
  const to = choose(() => 0);
  if (!to || to === call.from || choose(() => 1 - Number.EPSILON) !== to) return undefined;
  const target = snapshots.find((s) => s.gateway.environment === to);
  const ingress = target?.ingress.services.find((i) => i.host === service.host);
  if (!target || !ingress) return undefined;
  const identity = { sourceIdentity: call.identity, ...request };
  const decision = authorize(identity, ingress.authorization.policies, target.mesh.defaultAction);
  return { allowed: decision.allowed, call: { ...call, to, decidedBy: decision.decidedBy } };
}
