/**
 * The webhook notification (docs/distribution.md §4): a compact JWS, `typ`
 * `weft-notify+jws`, same key as snapshots, saying "gateway G, there is
 * version V with hash H". It carries no config: the agent verifies it and
 * fetches the snapshot, so a forged, replayed or stale notification costs
 * at most one `304`.
 *
 * @module
 */
import type { ParsedBundle } from '../identity/bundle.js';
import { signCompactJws } from '../identity/signer.js';
import { parseHlc } from '../model/hlc.js';
import {
  type JwsSigningKey,
  parsePayload,
  requireNewer,
  SnapshotRefusedError,
  verifyTypedJws,
} from './signed-jws.js';

/** The JWS `typ` of a notification. */
export const NOTIFY_JWS_TYPE = 'weft-notify+jws';

/** The payload of a notification. */
export interface SnapshotNotification {
  /** The SPIFFE ID of the gateway the new snapshot is for. */
  readonly gateway: string;
  readonly version: string;
  readonly hash: string;
  /** Seconds since the epoch, when it was signed. */
  readonly iat: number;
}

/**
 * @example
 * const body = await signNotification({ gateway: snapshot.gateway.spiffeId, version, hash, iat }, key);
 * await fetch(webhook, { method: 'POST', headers: { 'content-type': 'application/jose' }, body });
 */
export function signNotification(notification: SnapshotNotification, key: JwsSigningKey): Promise<string> {
  const { gateway, version, hash, iat } = notification;
  return signCompactJws(
    key.signer,
    { kid: key.kid, typ: NOTIFY_JWS_TYPE },
    JSON.stringify({ gateway, version, hash, iat }),
  );
}

/** What an agent checks a notification against. */
export interface VerifyNotificationOptions {
  readonly expectedSpiffeId: string;
  /** The version it runs now; omitted when it has none. */
  readonly appliedVersion?: string;
  readonly appliedHash?: string;
}

/**
 * Verifies a notification: signed by a `jwt-svid` key of `bundle`, for this
 * gateway, announcing a version newer than the applied one.
 *
 * @throws SnapshotRefusedError `malformed`, `unknown-key`, `signature`, `wrong-gateway` or `stale-version`.
 */
export async function verifyNotification(
  jws: string,
  bundle: ParsedBundle,
  options: VerifyNotificationOptions,
): Promise<SnapshotNotification> {
  const { payload } = await verifyTypedJws(jws, bundle, NOTIFY_JWS_TYPE);
  const { gateway, version, hash, iat } = parsePayload(payload, 'notification');
  if (
    typeof gateway !== 'string' ||
    typeof version !== 'string' ||
    !parseHlc(version) ||
    typeof hash !== 'string' ||
    typeof iat !== 'number'
  ) {
    throw new SnapshotRefusedError('malformed', 'the payload is not a notification');
  }
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
  return { gateway, version, hash, iat };
}
