/**
 * Signed manifests: how weft signs content too large for a {@link Signer}
 * (AWS KMS signs at most 4 KiB of raw message). One text,
 *
 * ```
 * <compact JWS, ES256: the manifest>\n<content>
 * ```
 *
 * whose JWS payload is a few claims and `sha256`, the base64url SHA-256 of
 * the content's UTF-8 bytes. The content travels as it is, after the first
 * newline (a compact JWS has none), so what reaches the signer is the
 * header and the claims only, whatever the size of the content, and
 * nothing is base64-encoded but the manifest. A verifier checks the
 * manifest's signature, then that the content hashes to its `sha256`, and
 * only then parses the content: once.
 *
 * Signed snapshots, relay events and authority statements take this form;
 * each keeps its own `typ`, keys and refusal errors.
 *
 * @example
 * const text = await signManifest(signer, { kid, typ }, { version }, content);
 * const parts = splitManifest(text); // { jws, content }, or undefined
 * // verify parts.jws as the format says, then:
 * if (!namesContent(claims, parts.content)) refuse();
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { type Signer, signCompactJws } from './signer.js';

/** The media type of a signed manifest with its content (snapshots served, relay events' `data`). */
export const SIGNED_MANIFEST_MEDIA_TYPE = 'application/vnd.weft.signed-manifest';

/** Largest manifest JWS accepted: its header and claims are a few hundred bytes (an `x5c` adds one certificate). */
export const MAX_MANIFEST_JWS_CHARS = 16 * 1024;

/** Largest text accepted: the content of a very large mesh's snapshot. */
export const MAX_MANIFEST_TEXT_CHARS = 64 * 1024 * 1024;

/** base64url SHA-256 of `content`'s UTF-8 bytes: what a manifest's `sha256` names. */
export function contentDigest(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('base64url');
}

/**
 * Signs a manifest of `claims` naming `content`, and puts the content beside it.
 *
 * @throws TypeError when `claims` has a `sha256` of its own (the manifest sets it).
 */
export async function signManifest(
  signer: Signer,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  content: string,
): Promise<string> {
  if ('sha256' in claims) throw new TypeError('a manifest names its content itself: no sha256 in claims');
  const payload = JSON.stringify({ ...claims, sha256: contentDigest(content) });
  return `${await signCompactJws(signer, header, payload)}\n${content}`;
}

/** A signed manifest split at its first newline; nothing in it verified yet. */
export interface ManifestParts {
  /** Three dot-separated parts, at most {@link MAX_MANIFEST_JWS_CHARS}. */
  readonly jws: string;
  readonly content: string;
}

/**
 * Splits `text` into the manifest JWS and the content.
 *
 * @returns `undefined` when it is not a string of this form, or larger than the limits.
 */
export function splitManifest(text: unknown): ManifestParts | undefined {
  if (typeof text !== 'string' || text.length > MAX_MANIFEST_TEXT_CHARS) return undefined;
  // Only the head is searched: a text with no newline near the start is refused unread.
  const end = text.slice(0, MAX_MANIFEST_JWS_CHARS + 1).indexOf('\n');
  if (end <= 0) return undefined;
  const jws = text.slice(0, end);
  if (jws.split('.').length !== 3) return undefined;
  return { jws, content: text.slice(end + 1) };
}

/** Whether verified manifest `claims` name `content` (its `sha256`). */
export function namesContent(claims: { readonly sha256?: unknown }, content: string): boolean {
  return typeof claims.sha256 === 'string' && claims.sha256 === contentDigest(content);
}
