/**
 * Signed snapshots (docs/distribution.md §2): a compact JWS, ES256, `typ`
 * `weft-snapshot+jws`, signed by the control plane's JWT-SVID key, whose
 * payload is the snapshot's canonical JSON. The protected header repeats the
 * payload's `version` and `hash`, so the control plane can serve ETags from
 * a stored snapshot without decoding a megabyte of payload; agents check the
 * two agree.
 *
 * @example
 * // control plane
 * const jws = await signSnapshot(snapshot, await ca.jwtSigningKey('aws'));
 * // agent
 * const next = await verifySnapshot(jws, parseBundle(bundleJson), {
 *   expectedSpiffeId: 'spiffe://acme.test/gw/aws/gw-1', appliedVersion: current?.version });
 *
 * @module
 */
import type { ParsedBundle } from '../identity/bundle.js';
import { signCompactJws } from '../identity/signer.js';
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

/** The JWS `typ` of a signed snapshot. */
export const SNAPSHOT_JWS_TYPE = 'weft-snapshot+jws';

/** Signs `snapshot` as it is stored and served. */
export function signSnapshot(snapshot: GatewaySnapshot, key: JwsSigningKey): Promise<string> {
  const { version, hash } = snapshot;
  const header = { kid: key.kid, typ: SNAPSHOT_JWS_TYPE, version, hash };
  return signCompactJws(key.signer, header, canonicalSnapshotJson(snapshot));
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
 * Verifies a signed snapshot: signature by a `jwt-svid` key of `bundle`,
 * addressed to this gateway, newer than what it runs, and its hash right.
 *
 * @throws SnapshotRefusedError with the reason; `unchanged` for the snapshot it already runs.
 */
export async function verifySnapshot(
  jws: string,
  bundle: ParsedBundle,
  options: VerifySnapshotOptions,
): Promise<GatewaySnapshot> {
  const { header, payload } = await verifyTypedJws(jws, bundle, SNAPSHOT_JWS_TYPE);
  const snapshot = parsePayload(payload, 'GatewaySnapshot') as unknown as GatewaySnapshot;
  const { version, hash, gateway } = snapshot;
  if (
    snapshot.apiVersion !== 'weft.dev/v1' ||
    snapshot.kind !== 'GatewaySnapshot' ||
    typeof version !== 'string' ||
    !parseHlc(version) ||
    typeof hash !== 'string' ||
    typeof gateway?.spiffeId !== 'string'
  ) {
    throw new SnapshotRefusedError('malformed', 'the payload is not a GatewaySnapshot');
  }
  if (
    (header.version !== undefined && header.version !== version) ||
    (header.hash !== undefined && header.hash !== hash)
  )
    throw new SnapshotRefusedError('malformed', 'the header and the payload disagree on version or hash');
  if (gateway.spiffeId !== options.expectedSpiffeId) {
    throw new SnapshotRefusedError(
      'wrong-gateway',
      `addressed to ${gateway.spiffeId}, not ${options.expectedSpiffeId}`,
    );
  }
  requireNewer(
    version,
    options.appliedVersion,
    options.appliedHash === undefined || options.appliedHash === hash,
  );
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
 * Reads `version` and `hash` from a snapshot JWS's header without verifying
 * it: for the control plane reading back what it stored itself.
 *
 * @returns `undefined` when the text is not a snapshot JWS this module signed.
 */
export function peekSnapshot(jws: string): SnapshotHeader | undefined {
  try {
    const header = JSON.parse(Buffer.from(jws.slice(0, jws.indexOf('.')), 'base64url').toString('utf8'));
    const { kid, typ, version, hash } = header ?? {};
    if (typ !== SNAPSHOT_JWS_TYPE || [kid, version, hash].some((v) => typeof v !== 'string'))
      return undefined;
    return { kid, version, hash };
  } catch {
    return undefined;
  }
}
