/**
 * Signed snapshots (docs/distribution.md §2): a signed manifest
 * (`identity/signed-manifest.ts`), signed by the control plane's JWT-SVID
 * key, with the snapshot's canonical JSON beside it:
 *
 * ```
 * <JWS typ weft-snapshot+jws: { gateway, version, hash, sha256 }>\n<canonical GatewaySnapshot JSON>
 * ```
 *
 * The signed part is small whatever the size of the mesh (a KMS signs at
 * most 4 KiB). Its protected header repeats `version` and `hash`, so the
 * control plane serves ETags from a stored snapshot by reading its first
 * line ({@link peekSnapshot}). An agent checks the content against the
 * manifest's `sha256` first, then refuses a snapshot for another gateway,
 * or an old one, from the manifest alone, before it parses the content.
 *
 * @example
 * // control plane
 * const text = await signSnapshot(snapshot, await ca.jwtSigningKey('aws'));
 * // agent
 * const next = await verifySnapshot(text, parseBundle(bundleJson), {
 *   expectedSpiffeId: 'spiffe://acme.test/gw/aws/gw-1', appliedVersion: current?.version });
 *
 * @module
 */
import type { ParsedBundle } from '../identity/bundle.js';
import { namesContent, signManifest, splitManifest } from '../identity/signed-manifest.js';
import { parseHlc } from '../model/hlc.js';
import { canonicalSnapshotJson, snapshotHash } from './canonical.js';
import {
  type JwsSigningKey,
  parsePayload,
  requireNewer,
  SnapshotRefusedError,
  verifyTypedJws,
} from './signed-jws.js';
import type { GatewaySnapshot } from './snapshot.js';

/** The JWS `typ` of a signed snapshot's manifest. */
export const SNAPSHOT_JWS_TYPE = 'weft-snapshot+jws';

/** Signs `snapshot` as it is stored and served. */
export function signSnapshot(snapshot: GatewaySnapshot, key: JwsSigningKey): Promise<string> {
  const { version, hash } = snapshot;
  const header = { kid: key.kid, typ: SNAPSHOT_JWS_TYPE, version, hash };
  const manifest = { gateway: snapshot.gateway.spiffeId, version, hash };
  return signManifest(key.signer, header, manifest, canonicalSnapshotJson(snapshot));
}

/** What an agent checks a snapshot against. */
export interface VerifySnapshotOptions {
  /** The agent's own SPIFFE ID: `spiffe://<td>/gw/<environment>/<name>`. */
  readonly expectedSpiffeId: string;
  /** The version it runs now; omitted when it has none. */
  readonly appliedVersion?: string;
  /** The hash it runs now: tells an equal snapshot (`unchanged`) from a conflicting one. */
  readonly appliedHash?: string;
}

/**
 * Verifies a signed snapshot: the manifest's signature by a `jwt-svid` key
 * of `bundle`, addressed to this gateway, newer than what it runs, the
 * content the one it names, and the snapshot's hash right.
 *
 * @throws SnapshotRefusedError with the reason; `unchanged` for the snapshot it already runs.
 */
export async function verifySnapshot(
  text: string,
  bundle: ParsedBundle,
  options: VerifySnapshotOptions,
): Promise<GatewaySnapshot> {
  const parts = splitManifest(text);
  if (!parts) throw new SnapshotRefusedError('malformed', 'not a signed manifest with its snapshot');
  const { header, payload } = await verifyTypedJws(parts.jws, bundle, SNAPSHOT_JWS_TYPE);
  const manifest = parsePayload(payload, 'snapshot manifest');
  const { gateway, version, hash } = manifest;
  if (
    typeof gateway !== 'string' ||
    typeof version !== 'string' ||
    !parseHlc(version) ||
    typeof hash !== 'string' ||
    typeof manifest.sha256 !== 'string'
  )
    throw new SnapshotRefusedError('malformed', 'the payload is not a snapshot manifest');
  if (header.version !== version || header.hash !== hash)
    throw new SnapshotRefusedError('malformed', 'the header and the manifest disagree on version or hash');
  // Before anything is decided on the manifest: tampered content is refused as such, never taken as unchanged.
  if (!namesContent(manifest, parts.content))
    throw new SnapshotRefusedError('hash', 'the content is not the one the manifest names');
  if (gateway !== options.expectedSpiffeId)
    throw new SnapshotRefusedError(
      'wrong-gateway',
      `addressed to ${gateway}, not ${options.expectedSpiffeId}`,
    );
  requireNewer(
    version,
    options.appliedVersion,
    options.appliedHash === undefined || options.appliedHash === hash,
  );
  // Parsed once, and only when it is to be applied.
  const snapshot = parsePayload(parts.content, 'GatewaySnapshot', 'content') as unknown as GatewaySnapshot;
  if (snapshot.apiVersion !== 'weft.dev/v1' || snapshot.kind !== 'GatewaySnapshot')
    throw new SnapshotRefusedError('malformed', 'the content is not a GatewaySnapshot');
  if (snapshot.version !== version || snapshot.hash !== hash || snapshot.gateway?.spiffeId !== gateway)
    throw new SnapshotRefusedError('malformed', 'the manifest and the content disagree');
  // Last: the costliest check, and pointless on a snapshot refused anyway.
  if (snapshotHash(snapshot) !== hash)
    throw new SnapshotRefusedError('hash', `content does not hash to ${hash}`);
  return snapshot;
}

/** What the protected header of a stored snapshot says. */
export interface SnapshotHeader {
  readonly kid: string;
  readonly version: string;
  readonly hash: string;
}

/**
 * Reads `version` and `hash` from a signed snapshot's header (its first
 * line) without verifying it: for the control plane reading back what it
 * stored itself.
 *
 * @returns `undefined` when the text is not a signed snapshot this module made.
 */
export function peekSnapshot(text: string): SnapshotHeader | undefined {
  const parts = splitManifest(text);
  if (!parts) return undefined;
  try {
    const encoded = parts.jws.slice(0, parts.jws.indexOf('.'));
    const header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    const { kid, typ, version, hash } = header ?? {};
    if (typ !== SNAPSHOT_JWS_TYPE || [kid, version, hash].some((v) => typeof v !== 'string'))
      return undefined;
    return { kid, version, hash };
  } catch {
    return undefined;
  }
}

/**
 * The snapshot a signed snapshot carries, read without verifying it: for
 * the control plane re-signing what it stored itself (`served-version.ts`).
 *
 * @returns `undefined` when the text is not a signed snapshot this module made.
 */
export function readSnapshot(text: string): GatewaySnapshot | undefined {
  if (!peekSnapshot(text)) return undefined;
  try {
    return JSON.parse(splitManifest(text)!.content) as GatewaySnapshot;
  } catch {
    return undefined;
  }
}
