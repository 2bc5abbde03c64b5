/**
 * The request gate: what every host's request passes before routing. A path
 * is taken exactly as the client sent it and is never normalised, so a path
 * rule in front of the API (a cloud API gateway route, a WAF) sees the same
 * resource the API serves: `/v1/services/../meshes/default` is refused, not
 * resolved into the Mesh.
 *
 * The limits here are the API's documented ones (docs/api.md, "Limits").
 *
 * @module
 */
import { MalformedError, ValidationError, WeftError } from '../model/errors.js';
import { DNS1123_LABEL } from '../model/names.js';

/** The longest path the API reads, in characters (the query string is not counted). */
export const MAX_PATH_LENGTH = 2048;

/** A path longer than the API reads: 414. */
export class UriTooLongError extends WeftError {
  constructor(message: string) {
    super('ERR_VALIDATION', 414, message);
    this.name = 'UriTooLongError';
  }
}

/** Escapes that would change which resource a path names once decoded: an encoded `/`, `\` or `.`. */
const RISKY_ESCAPE = /%(2f|5c|2e)/i;
const CONTROL_ESCAPE = /%(?:[01][0-9a-f]|7f)/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Refuses a path the API will not route: not starting with `/`, over
 * {@link MAX_PATH_LENGTH}, with a `.` or `..` segment, a backslash, an encoded
 * slash, backslash or dot, or a control character raw or encoded.
 *
 * @throws MalformedError (400) naming what is wrong, or UriTooLongError (414).
 */
export function gateRequestPath(path: string): void {
  if (path.length > MAX_PATH_LENGTH) {
    throw new UriTooLongError(`the path is over ${MAX_PATH_LENGTH} characters`);
  }
  if (!path.startsWith('/')) throw new MalformedError('the path must start with "/"');
  if (CONTROL.test(path) || CONTROL_ESCAPE.test(path)) {
    throw new MalformedError('the path holds a control character; send the path as text');
  }
  if (path.includes('\\')) throw new MalformedError('the path holds a backslash; separate segments with "/"');
  for (const segment of path.split('/')) {
    if (segment === '.' || segment === '..') {
      throw new MalformedError(
        `the path holds a "${segment}" segment; the API does not resolve dot-segments, name the resource itself`,
      );
    }
  }
  const risky = RISKY_ESCAPE.exec(path);
  if (risky) {
    throw new MalformedError(
      `the path holds "${risky[0]}", an encoded "/", "\\" or "."; names in weft never need it`,
    );
  }
}

/**
 * A request-target (`/v1/x?a=b`, or absolute `http://host/v1/x?a=b`) split
 * into its path, exactly as sent, and its decoded query parameters. Unlike
 * `new URL`, nothing is normalised: dot-segments stay for the gate to refuse.
 */
export function splitTarget(target: string): {
  path: string;
  query: Record<string, string>;
} {
  let rest = target;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const mark = rest.indexOf('?');
  const path = mark === -1 ? rest : rest.slice(0, mark);
  const search = mark === -1 ? '' : rest.slice(mark + 1);
  return { path: path === '' ? '/' : path, query: Object.fromEntries(new URLSearchParams(search)) };
}

/** The longest part of a refused value a message repeats. */
const SHOWN = 40;

/**
 * Checks a name or namespace taken from the path before any store sees it:
 * a DNS-1123 label, as resources' names are.
 *
 * @param segment what the path segment is, e.g. `namespace`, `name`
 * @throws ValidationError (422) naming the segment.
 */
export function checkPathLabel(segment: string, value: string): void {
  if (DNS1123_LABEL.test(value)) return;
  const shown = value.length > SHOWN ? `${value.slice(0, SHOWN)}... (${value.length} characters)` : value;
  const detail =
    'must be a DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit';
  throw new ValidationError(`the ${segment} in the path, ${JSON.stringify(shown)}, ${detail}`, [
    { pointer: `/${segment}`, detail },
  ]);
}
