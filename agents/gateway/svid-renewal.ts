/**
 * The two calls an agent makes with its current X.509-SVID instead of
 * attesting again: renewing it for a new key (`POST /v1/svid/x509`, the
 * proof binds the new CSR) and fetching a JWT-SVID (`POST /v1/svid/jwt`,
 * the proof binds the audience). The new key is made here and only its CSR
 * leaves; what comes back is checked before anyone uses it.
 *
 * @module
 */

import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import type { ParsedBundle } from '../../shared/identity/bundle.js';
import {
  createSvidProof,
  csrSha256,
  JWT_PROOF_AUDIENCE,
  RENEW_PROOF_AUDIENCE,
  type SvidProofPayload,
} from '../../shared/identity/svid-proof.js';
import type { ControlPlaneApi, GatewayPath, IssuedJwtSvid, IssuedSvid } from './control-plane-client.js';
import { type CheckedSvid, checkSvid } from './svid-check.js';
import { newSvidKey, type SvidKey } from './svid-key.js';

/** The SVID in hand: what proofs are signed with. */
export interface CurrentSvid {
  readonly key: KeyObject;
  readonly certChain: readonly string[];
}

/**
 * A proof by the current key. The control plane takes each proof once, by
 * what was signed, so `jti` keeps two proofs made in the same second
 * distinct; `iat` is the real clock, which is what the control plane checks.
 */
export function signProof(svid: CurrentSvid, claims: Omit<SvidProofPayload, 'iat'>): Promise<string> {
  const payload = { ...claims, iat: Math.floor(Date.now() / 1000), jti: randomUUID() };
  return createSvidProof(svid.key, svid.certChain, payload);
}

/** A renewed SVID, not yet checked: its bundle may have to be adopted first. */
export interface RenewedSvid {
  readonly fresh: SvidKey;
  readonly issued: IssuedSvid;
}

/** Asks for an X.509-SVID for a new key, proven by the current one. */
export async function renewX509Svid(client: ControlPlaneApi, svid: CurrentSvid): Promise<RenewedSvid> {
  const fresh = await newSvidKey();
  const proof = await signProof(svid, { aud: RENEW_PROOF_AUDIENCE, csr_sha256: csrSha256(fresh.csrPem) });
  return { fresh, issued: await client.renewX509(fresh.csrPem, proof) };
}

/** Checks a renewed SVID: this gateway, the new key, chains to the bundle, unexpired. */
export function checkRenewed(
  renewed: RenewedSvid,
  bundle: ParsedBundle,
  gateway: GatewayPath,
  now: Date,
): Promise<CheckedSvid> {
  return checkSvid(renewed.fresh.keyPem, renewed.issued.x509Svid.certChain, bundle, gateway, now);
}

/** Fetches a JWT-SVID for `audience`, proven by the current SVID. */
export async function fetchJwtSvid(
  client: ControlPlaneApi,
  svid: CurrentSvid,
  audience: string,
): Promise<IssuedJwtSvid> {
  return client.jwtSvid(audience, await signProof(svid, { aud: JWT_PROOF_AUDIENCE, audience }));
}
