/**
 * The matchers authorization rules and route rules share: headers, policy
 * paths (exact or `*`-suffixed prefix) and Gateway API path prefixes. Pure.
 *
 * @module
 */
import type { HeaderMatch } from '../../../shared/contract/snapshot.js';

/** Request headers as Node hands them over: lowercase names, repeated ones as arrays. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One header's value, repeated fields joined by `, ` as RFC 9110 §5.3 allows. */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(', ');
}

/** Does the request carry a header satisfying `match`? A missing `value` reads as `''`. */
export function matchesHeader(match: HeaderMatch, headers: RequestHeaders): boolean {
  const value = headerValue(headers, match.name);
  if (value === undefined) return false;
  switch (match.type) {
    case 'Present':
      return true;
    case 'Prefix':
      return value.startsWith(match.value ?? '');
    default:
      return value === (match.value ?? '');
  }
}

/** All of `matches` hold (an empty list holds). */
export function matchesHeaders(
  matches: readonly HeaderMatch[] | undefined,
  headers: RequestHeaders,
): boolean {
  return (matches ?? []).every((m) => matchesHeader(m, headers));
}

/**
 * An AccessPolicy path: exact, or a prefix when it ends in `*`
 * (`/admin/*` covers `/admin/x`, `/admin*` also covers `/administrator`).
 */
export function matchesPolicyPath(pattern: string, path: string): boolean {
  return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

/**
 * A Gateway API `PathPrefix`: matched element by element, so `/foo` covers
 * `/foo`, `/foo/` and `/foo/bar` but not `/foobar`; a trailing `/` in the
 * prefix is ignored and `/` covers everything.
 */
export function matchesPathPrefix(prefix: string, path: string): boolean {
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed === '') return true;
  return path === trimmed || path.startsWith(`${trimmed}/`);
}
