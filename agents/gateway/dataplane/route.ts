/**
 * Route rule selection at the egress gateway, with Gateway API HTTPRoute
 * semantics: a rule matches when any of its matches does, a match when its
 * path, method and every header condition hold; the first rule (in snapshot
 * order: by Route name, then as written) wins. Pure.
 *
 * @module
 */
import type { EgressService, RouteMatch, RouteRule } from '../../../shared/contract/snapshot.js';
import { matchesHeaders, matchesPathPrefix, type RequestHeaders } from './match.js';

/** What routing looks at. `path` is the normalized path, without the query. */
export interface RouteRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: RequestHeaders;
}

/** Does one match hold for the call? */
export function matchesRoute(match: RouteMatch, request: RouteRequest): boolean {
  if (match.method && match.method !== request.method.toUpperCase()) return false;
  if (match.path) {
    const { type, value } = match.path;
    if (type === 'Exact' ? request.path !== value : !matchesPathPrefix(value, request.path)) return false;
  }
  return matchesHeaders(match.headers, request.headers);
}

/**
 * The first rule of `service.routes` that matches, or `undefined` when none
 * does (or the service has no Route): then the call goes to the service's
 * environments, the local one first (see `choose-environment.ts`).
 */
export function selectRoute(request: RouteRequest, service: EgressService): RouteRule | undefined {
  // An empty `matches` cannot come out of the compiler; read it as Gateway API does: match all.
  return service.routes.find(
    (rule) => rule.matches.length === 0 || rule.matches.some((m) => matchesRoute(m, request)),
  );
}
