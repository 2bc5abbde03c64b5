/**
 * Names and SPIFFE IDs.
 *
 * @module
 */

/** RFC 1123 label, as Kubernetes uses for names and namespaces. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A trust domain: lowercase letters, digits, dots, dashes and underscores (SPIFFE-ID §2.1). */
export const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

/** Label keys `prefix/name` and values, as in Kubernetes. */
export const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;

export interface SpiffeId {
  readonly trustDomain: string;
  /** The path, starting with `/`, or `''` for the trust domain itself. */
  readonly path: string;
}

/**
 * Parses a SPIFFE ID by the rules of the SPIFFE-ID standard: scheme `spiffe`,
 * a lowercase trust domain, no query, fragment, port or userinfo, and path
 * segments that are neither empty nor `.`/`..`.
 *
 * @returns the parts, or `undefined` when the string is not a SPIFFE ID.
 */
export function parseSpiffeId(id: string): SpiffeId | undefined {
  if (id.length > 2048 || !id.startsWith('spiffe://')) return undefined;
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (!TRUST_DOMAIN.test(trustDomain)) return undefined;
  if (path === '') return { trustDomain, path };
  const segments = path.slice(1).split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || !PATH_SEGMENT.test(s)) return undefined;
  }
  return { trustDomain, path };
}

/** True when `id` is a well-formed SPIFFE ID with a non-empty path (a workload ID). */
export function isWorkloadSpiffeId(id: string): boolean {
  const parsed = parseSpiffeId(id);
  return parsed !== undefined && parsed.path !== '';
}

/** `spiffe://<td>/ns/<namespace>/svc/<service>` */
export function serviceSpiffeId(trustDomain: string, namespace: string, service: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/svc/${service}`;
}

/** `spiffe://<td>/gw/<environment>/<gateway>` */
export function gatewaySpiffeId(trustDomain: string, environment: string, gateway: string): string {
  return `spiffe://${trustDomain}/gw/${environment}/${gateway}`;
}

/**
 * An identity pattern as AccessPolicy sources use it: an exact SPIFFE ID, or a
 * SPIFFE ID prefix ending in `/*` (`spiffe://acme.test/ns/shop/*`), or `*`.
 */
export function isIdentityPattern(pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('/*'))
    return isWorkloadSpiffeId(pattern.slice(0, -2)) || parseSpiffeId(pattern.slice(0, -2))?.path === '';
  return isWorkloadSpiffeId(pattern);
}

/** Does `identity` match `pattern` (see {@link isIdentityPattern})? */
export function matchesIdentity(pattern: string, identity: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('/*')) return identity.startsWith(pattern.slice(0, -1));
  return pattern === identity;
}
