/**
 * Request paths as policies see them. Both gateways match on the normalized
 * path and forward that same path, so what was authorized is what the
 * service serves: `/public/../admin` cannot slip past a deny on `/admin/*`
 * (Envoy's `normalize_path` + `merge_slashes`).
 *
 * @module
 */

const UNRESERVED = /%(2[dDeE]|3[0-9]|4[1-9a-fA-F]|5[0-9aA]|5[fF]|6[1-9a-fA-F]|7[0-9aA]|7[eE])/g;

/** What normalization could change in a path that starts with `/`: an escape, a dot segment, a run of `/`. */
const NEEDS_WORK = /%|\/\.|\/\//;

/** Splits an origin-form target into its path and its query (with the `?`, or `''`). */
export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q) };
}

/**
 * RFC 3986 normalization of a path: percent-encoded unreserved characters
 * decoded (so `%2e%2e` is `..`), dot segments removed (§5.2.4), runs of `/`
 * merged. Encoded slashes (`%2F`) stay encoded: they are data, not structure.
 *
 * @returns the normalized path, always starting with `/`.
 */
export function normalizePath(path: string): string {
  // Most paths are already normal: no escapes, no dot segments, no empty ones. Skip the work for them.
  if (path.charCodeAt(0) === 0x2f && !NEEDS_WORK.test(path)) return path;
  const decoded = path.replace(UNRESERVED, (encoded) =>
    String.fromCharCode(Number.parseInt(encoded.slice(1), 16)),
  );
  const segments = decoded.split('/');
  const out: string[] = [];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (segment === '..') {
      out.pop();
      if (last) out.push('');
    } else if (segment === '.') {
      if (last) out.push('');
    } else if (segment !== '' || last) {
      out.push(segment);
    }
  }
  return `/${out.join('/')}`;
}
