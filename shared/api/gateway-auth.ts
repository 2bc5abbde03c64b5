/**
 * Authentication of gateway agents on their own endpoints: a JWT-SVID
 * (`Authorization: Bearer`) for audience `spiffe://<td>/control-plane`,
 * verified against the mesh's trust bundle, whose `sub` must be the SPIFFE
 * ID of the gateway the path names. Operator tokens are not accepted: a
 * gateway's endpoints take the gateway's word only.
 *
 * @module
 */
import type { GatewayTrust } from '../distribution/mesh-authority.js';
import { controlPlaneAudience } from '../identity/audiences.js';
import type { ParsedBundle } from '../identity/bundle.js';
import { JwtSvidVerifier } from '../identity/jwt-svid.js';
import { ForbiddenError, UnauthenticatedError } from '../model/errors.js';
import { gatewaySpiffeId } from '../model/names.js';

/**
 * Checks that `authorization` proves to be the gateway `<environment>/<name>`.
 *
 * @returns its SPIFFE ID.
 * @throws UnauthenticatedError (401) for a missing, malformed, expired or untrusted token, or one for another audience.
 * @throws ForbiddenError (403) for a valid token of another identity.
 */
export type GatewayAuthenticator = (
  authorization: string | undefined,
  environment: string,
  name: string,
) => Promise<string>;

/** One verifier per bundle, so a gateway's token is checked once until it expires. */
export function createGatewayAuthenticator(trust: GatewayTrust): GatewayAuthenticator {
  let current: { bundle: ParsedBundle; trustDomain: string; verifier: JwtSvidVerifier } | undefined;
  return async (authorization, environment, name) => {
    const token = /^Bearer\s+([A-Za-z0-9_.~+/=-]+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) {
      throw new UnauthenticatedError(
        "a gateway endpoint needs the gateway's JWT-SVID: send Authorization: Bearer <token> with aud spiffe://<td>/control-plane (POST /v1/svid/jwt)",
      );
    }
    const { trustDomain, bundle } = await trust();
    if (current?.bundle !== bundle || current.trustDomain !== trustDomain)
      current = { bundle, trustDomain, verifier: new JwtSvidVerifier({ bundle, trustDomain }) };
    const { spiffeId } = await current.verifier.verify(token, controlPlaneAudience(trustDomain));
    const expected = gatewaySpiffeId(trustDomain, environment, name);
    if (spiffeId !== expected) throw new ForbiddenError(`${spiffeId} may not act for ${expected}`);
    return spiffeId;
  };
}
