/**
 * When the agent takes a new trust bundle. Bundles arrive with every SVID
 * the control plane issues and inside every verified snapshot (signed by a
 * key the agent already trusts, which is how the next JWT key gets in before
 * it signs anything). `spiffe_sequence` orders them: only a greater one
 * replaces the current, so a replayed older bundle can never take back a
 * new authority or restore a retired one. A bundle with no X.509 authority
 * would leave the agent unable to check any peer, and is never taken.
 *
 * @module
 */
import { type ParsedBundle, parseBundle } from '../../shared/identity/bundle.js';

/** A bundle to adopt: parsed, and the JSON text to persist. */
export interface NewerBundle {
  readonly parsed: ParsedBundle;
  readonly json: string;
}

/**
 * `offered` if it should replace `current`, else `undefined` (absent, not
 * newer, or without X.509 authorities).
 *
 * @throws ValidationError when `offered` is not a well-formed bundle.
 */
export function newerBundle(current: ParsedBundle, offered: unknown): NewerBundle | undefined {
  if (offered === null || offered === undefined) return undefined;
  const parsed = parseBundle(offered);
  if (parsed.sequence <= current.sequence || parsed.x509Authorities.length === 0) return undefined;
  return { parsed, json: typeof offered === 'string' ? offered : JSON.stringify(offered) };
}
