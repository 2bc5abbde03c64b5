/**
 * The version a stored snapshot is served at. A cloud keeps a snapshot's
 * stored version while its content (hash) does not change, so identical
 * content can be stored at an older version here than a peer cloud stamped
 * it (the peer compiled a state in between that this cloud never saw). An
 * agent that failed over here would refuse that older version as stale. So
 * when the compile watermark says the stored hash is still this gateway's
 * content at a newer state version, the snapshot is served re-signed at that
 * version: true (that is its content at that state), forward-only, and with
 * no blob written or gateway notified on every write.
 *
 * @module
 */
import type { JwsSigningKey } from '../contract/signed-jws.js';
import { readSnapshot, signSnapshot } from '../contract/signed-snapshot.js';
import { WeftError } from '../model/errors.js';
import type { BlobStore } from '../storage/blob-store.js';
import { COMPILED_WATERMARK, type CompiledWatermark, readWatermark } from '../storage/watermark.js';
import type { MeshAuthority } from './mesh-authority.js';

/**
 * The newer version the stored snapshot `{version, hash}` of `gateway`
 * stands at, or `undefined` when its stored version is current (or the
 * watermark no longer lists that content for it).
 */
export async function newerServedVersion(
  blobs: BlobStore,
  gateway: string,
  stored: { readonly version: string; readonly hash: string },
): Promise<string | undefined> {
  const mark = await readWatermark<CompiledWatermark>(blobs, COMPILED_WATERMARK);
  // A watermark with a reason compiled nothing: what is stored is kept, not current.
  if (!mark || mark.reason || mark.snapshots?.[gateway]?.hash !== stored.hash) return undefined;
  return mark.version > stored.version ? mark.version : undefined;
}

/** Re-signs a stored signed snapshot at `version` with the mesh's current snapshot key. */
export async function restampSnapshot(
  jws: string,
  version: string,
  authority: MeshAuthority,
): Promise<string> {
  const snapshot = readSnapshot(jws);
  if (!snapshot) throw new WeftError('ERR_INTERNAL', 500, 'the stored snapshot is unreadable');
  const { signingKey }: { signingKey: JwsSigningKey } = await authority.forTrustDomain(
    snapshot.mesh.trustDomain,
  );
  return signSnapshot({ ...snapshot, version }, signingKey);
}
