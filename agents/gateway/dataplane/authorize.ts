/**
 * Layer-7 authorization as the ingress gateway enforces it: pure, so the
 * property tests can pin its semantics down. A call is denied when any deny
 * rule matches (deny wins), else allowed when any allow rule matches, else
 * the mesh default decides (deny, unless the Mesh says otherwise).
 *
 * @module
 */
import type { AuthorizationPolicy, AuthorizationRule } from '../../../shared/contract/snapshot.js';
import { matchesIdentity } from '../../../shared/model/names.js';
import { matchesHeaders, matchesPolicyPath, type RequestHeaders } from './match.js';

/** What authorization looks at. `path` is the normalized path, without the query. */
export interface AuthzRequest {
  /** The caller's SPIFFE ID, as its JWT-SVID (or registered source address) proved it. */
  readonly sourceIdentity: string;
  readonly method: string;
  readonly path: string;
  readonly headers: RequestHeaders;
}

/** The decision and what made it: `<policy>/<rule index>`, or `default`. */
export interface AuthzDecision {
  readonly allowed: boolean;
  readonly decidedBy: string;
}

/** Does one rule match the call? Every field it sets must. */
export function matchesRule(rule: AuthorizationRule, request: AuthzRequest): boolean {
  if (!rule.from.some((pattern) => matchesIdentity(pattern, request.sourceIdentity))) return false;
  if (rule.methods && !rule.methods.includes(request.method.toUpperCase() as never)) return false;
  if (rule.paths && !rule.paths.some((p) => matchesPolicyPath(p, request.path))) return false;
  return matchesHeaders(rule.headers, request.headers);
}

function firstMatch(
  policies: readonly AuthorizationPolicy[],
  action: AuthorizationPolicy['action'],
  request: AuthzRequest,
): string | undefined {
  for (const policy of policies) {
    if (policy.action !== action) continue;
    const index = policy.rules.findIndex((rule) => matchesRule(rule, request));
    if (index !== -1) return `${policy.name}/${index}`;
  }
  return undefined;
}

/**
 * Decides one call against a service's compiled policies (in snapshot order,
 * so `decidedBy` is stable).
 *
 * @example
 * authorize({ sourceIdentity, method: 'GET', path: '/orders', headers: {} }, service.authorization.policies, 'deny');
 * // => { allowed: true, decidedBy: 'frontend-reads/0' }
 */
export function authorize(
  request: AuthzRequest,
  policies: readonly AuthorizationPolicy[],
  defaultAction: 'allow' | 'deny',
): AuthzDecision {
  const denied = firstMatch(policies, 'deny', request);
  if (denied) return { allowed: false, decidedBy: denied };
  const allowed = firstMatch(policies, 'allow', request);
  if (allowed) return { allowed: true, decidedBy: allowed };
  return { allowed: defaultAction === 'allow', decidedBy: 'default' };
}
