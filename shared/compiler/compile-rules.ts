/**
 * Routes and access policies as the data plane evaluates them: defaults
 * filled in, durations in milliseconds, header names lowercased, references
 * to environments that do not exist dropped.
 *
 * @module
 */

import type { AuthorizationPolicy, HeaderMatch, RetryOn } from '../contract/snapshot.js';
import type { OutlierDetection, RouteMatch, RouteRule } from '../contract/snapshot-egress.js';
import { parseDuration } from '../model/duration.js';
import type { ResourceOf } from '../model/resource.js';
import { compare } from './mesh-state.js';

export const DEFAULT_TIMEOUT = '15s';
/** Transport failures only: the call may not have reached the service, or left it half done. */
export const DEFAULT_RETRY_ON: readonly RetryOn[] = ['connect-failure', 'reset'];
export const DEFAULT_OUTLIER_DETECTION: OutlierDetection = {
  consecutiveErrors: 5,
  baseEjectionMs: 30_000,
  maxEjectionPercent: 100,
};

interface WrittenHeaderMatch {
  readonly name: string;
  readonly type?: HeaderMatch['type'] | undefined;
  readonly value?: string | undefined;
}

function headerMatch(h: WrittenHeaderMatch): HeaderMatch {
  const type = h.type ?? 'Exact';
  // A Present match ignores any value; dropping it keeps equal meaning equal bytes.
  return { name: h.name.toLowerCase(), type, ...(type !== 'Present' && { value: h.value ?? '' }) };
}

const nonEmpty = <T>(items: readonly T[] | undefined): items is readonly T[] =>
  items !== undefined && items.length > 0;

/** One AccessPolicy. Empty `methods`/`paths`/`headers` mean no condition, as when absent. */
export function compilePolicy(policy: ResourceOf<'AccessPolicy'>): AuthorizationPolicy {
  return {
    name: policy.metadata.name,
    action: policy.spec.action,
    rules: policy.spec.rules.map((r) => ({
      from: r.from,
      ...(nonEmpty(r.methods) && { methods: r.methods }),
      ...(nonEmpty(r.paths) && { paths: r.paths }),
      ...(nonEmpty(r.headers) && { headers: r.headers.map(headerMatch) }),
    })),
  };
}

/**
 * The rules of every Route of one service, in Route-name order, and the
 * outlier detection of the first Route that sets it.
 *
 * @param routes sorted by name.
 * @param environments the Environments that exist.
 */
export function compileRoutes(
  routes: readonly ResourceOf<'Route'>[],
  environments: ReadonlyMap<string, unknown>,
): { rules: RouteRule[]; outlierDetection: OutlierDetection } {
  const rules = routes.flatMap((route) =>
    route.spec.rules.map((rule): RouteRule => {
      const timeoutMs = parseDuration(rule.timeout ?? DEFAULT_TIMEOUT);
      const retries = rule.retries;
      return {
        route: route.metadata.name,
        // Written `[]` or nothing: Gateway API reads both as "every request".
        matches: nonEmpty(rule.matches) ? rule.matches.map(routeMatch) : [{ headers: [] }],
        backends: rule.backends
          .filter((b) => environments.has(b.environment))
          .map((b) => ({ environment: b.environment, weight: b.weight ?? 1 }))
          .sort((a, b) => compare(a.environment, b.environment)),
        timeoutMs,
        retries: {
          attempts: retries?.attempts ?? 0,
          perTryTimeoutMs: retries?.perTryTimeout ? parseDuration(retries.perTryTimeout) : timeoutMs,
          retryOn: retries ? [...new Set(retries.retryOn ?? DEFAULT_RETRY_ON)].sort() : [],
        },
        failover: (rule.failover ?? []).filter((env) => environments.has(env)),
      };
    }),
  );
  const written = routes.find((r) => r.spec.outlierDetection)?.spec.outlierDetection;
  const outlierDetection = {
    consecutiveErrors: written?.consecutiveErrors ?? DEFAULT_OUTLIER_DETECTION.consecutiveErrors,
    baseEjectionMs: written?.baseEjectionTime
      ? parseDuration(written.baseEjectionTime)
      : DEFAULT_OUTLIER_DETECTION.baseEjectionMs,
    maxEjectionPercent: written?.maxEjectionPercent ?? DEFAULT_OUTLIER_DETECTION.maxEjectionPercent,
  };
  return { rules, outlierDetection };
}

function routeMatch(m: NonNullable<ResourceOf<'Route'>['spec']['rules'][number]['matches']>[number]) {
  const match: RouteMatch = {
    ...(m.path && { path: { type: m.path.type ?? 'PathPrefix', value: m.path.value } }),
    ...(m.method && { method: m.method }),
    headers: (m.headers ?? []).map(headerMatch),
  };
  return match;
}
