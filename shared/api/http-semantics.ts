/**
 * Small pieces of RFC 9110 the route modules share: which methods a path
 * takes, and whether an `If-None-Match` names the current ETag.
 *
 * @module
 */
import { MethodNotAllowedError } from '../model/errors.js';

/** @throws MethodNotAllowedError (405, with `Allow`) when `method` is not in `allowed`. */
export function allowMethod(method: string, allowed: readonly string[]): void {
  if (!allowed.includes(method))
    throw new MethodNotAllowedError(`${method} is not allowed here; use ${allowed.join(' or ')}`, allowed);
}

/** `If-None-Match`: a list of (possibly weak) ETags, or `*`. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
