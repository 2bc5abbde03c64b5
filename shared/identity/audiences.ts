/**
 * The audiences a mesh uses, derived from its trust domain so that a token
 * minted for one mesh is never accepted by another.
 *
 * @module
 */

/**
 * The audience of JWT-SVIDs that workloads present to their gateways, and the
 * default of every JWT-SVID the API issues: `spiffe://<td>/gateways`. It is
 * not an identity anyone can attest as (rules grant only `/gw/...` and
 * `/ns/.../svc/...` IDs).
 */
export function gatewaysAudience(trustDomain: string): string {
  return `spiffe://${trustDomain}/gateways`;
}

/**
 * What cloud attestation proofs are made for: the AWS `X-Weft-Audience`
 * header and the GCP instance identity token `aud`: `spiffe://<td>`.
 */
export function attestationAudience(trustDomain: string): string {
  return `spiffe://${trustDomain}`;
}

/**
 * The audience of JWT-SVIDs that gateways present to the control plane's
 * own endpoints (`/v1/gateways/<env>/<name>/...`): `spiffe://<td>/control-plane`.
 * Distinct from {@link gatewaysAudience}, so a token a workload hands its
 * gateway cannot be replayed against the API, and the reverse.
 */
export function controlPlaneAudience(trustDomain: string): string {
  return `spiffe://${trustDomain}/control-plane`;
}
