/**
 * What config distribution needs from the mesh CA: the trust bundle that
 * goes into every snapshot and verifies gateways' JWT-SVIDs, and the key
 * that signs snapshots (the control plane's JWT-SVID key for its provider,
 * so the bundle agents already hold verifies them).
 *
 * @module
 */

import type { JwsSigningKey } from '../contract/signed-jws.js';
import { buildBundle, type ParsedBundle, parseBundle, type SpiffeBundle } from '../identity/bundle.js';
import type { MeshCa } from '../identity/ca.js';
import { ConflictError } from '../model/errors.js';
import type { MeshSpec, Provider } from '../model/specs.js';
import type { StateStore } from '../storage/state-store.js';

/** The CA material of one trust domain, as of now. */
export interface MeshAuthorityMaterial {
  readonly trustDomain: string;
  /** As `GET /v1/bundle` serves it; what snapshots carry. */
  readonly bundle: SpiffeBundle;
  readonly parsedBundle: ParsedBundle;
  /** Signs snapshots and notifications. */
  readonly signingKey: JwsSigningKey;
}

/** The mesh CA, as config distribution sees it. */
export interface MeshAuthority {
  /** @throws whatever opening the CA of `trustDomain` throws (e.g. a CA for another trust domain). */
  forTrustDomain(trustDomain: string): Promise<MeshAuthorityMaterial>;
}

/** How long a built bundle is reused before it is rebuilt (expired keys drop out then). */
const BUNDLE_CACHE_MS = 30_000;

/**
 * A {@link MeshAuthority} on a {@link MeshCa}. `openCa` should hand back the
 * very instance the identity endpoints use (see `functions/local/ca.ts`), so
 * a rotation is seen by both.
 */
export function caAuthority(
  openCa: (trustDomain: string) => Promise<MeshCa>,
  provider: Provider,
  now: () => number = Date.now,
): MeshAuthority {
  let cached:
    | { ca: MeshCa; sequence: number; builtAt: number; bundle: SpiffeBundle; parsed: ParsedBundle }
    | undefined;
  return {
    async forTrustDomain(trustDomain) {
      const ca = await openCa(trustDomain);
      const at = now();
      if (cached?.ca !== ca || cached.sequence !== ca.sequence || at - cached.builtAt >= BUNDLE_CACHE_MS) {
        const bundle = await buildBundle(ca, { now: new Date(at) });
        cached = { ca, sequence: ca.sequence, builtAt: at, bundle, parsed: parseBundle(bundle) };
      }
      const { kid, signer } = await ca.jwtSigningKey(provider);
      return { trustDomain, bundle: cached.bundle, parsedBundle: cached.parsed, signingKey: { kid, signer } };
    },
  };
}

/** The trust domain and bundle gateway JWT-SVIDs are checked against. */
export type GatewayTrust = () => Promise<{ readonly trustDomain: string; readonly bundle: ParsedBundle }>;

/**
 * The {@link GatewayTrust} of the stored mesh: the trust domain of its one
 * Mesh resource, and that CA's bundle.
 *
 * @throws ConflictError (from the returned function) when there is no Mesh, or more than one.
 */
export function meshTrust(store: StateStore, authority: MeshAuthority): GatewayTrust {
  return async () => {
    const meshes = await store.list('Mesh');
    if (meshes.length !== 1) {
      throw new ConflictError(
        meshes.length === 0
          ? 'there is no Mesh, so no gateway identity to check: apply one first'
          : `${meshes.length} Mesh resources: delete all but one`,
      );
    }
    const { trustDomain } = meshes[0]!.resource!.spec as MeshSpec;
    const { parsedBundle } = await authority.forTrustDomain(trustDomain);
    return { trustDomain, bundle: parsedBundle };
  };
}
