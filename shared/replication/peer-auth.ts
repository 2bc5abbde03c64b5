/**
 * How one control plane proves itself to another on the read endpoints of
 * anti-entropy: a short bearer JWT (`typ: weft-peer+jwt`, ES256) signed by
 * its relay key, `iss` its cloud, `aud` the cloud it asks, valid one minute.
 * The same keys as relay events, so a peer is whoever holds a peer's relay
 * key, and nothing else.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import * as z from 'zod';
import { signCompactJws } from '../identity/signer.js';
import { UnauthenticatedError } from '../model/errors.js';
import { type Federation, peerKey, type RelayPeer, relayVerifyKey } from './federation.js';

export const PEER_JWT_TYPE = 'weft-peer+jwt';
const TTL_S = 60;
const SKEW_S = 60;

/** The `Authorization` header value for a request from `federation.self` to `peer`. */
export async function peerAuthorization(federation: Federation, peer: RelayPeer, now = Date.now()) {
  const iat = Math.floor(now / 1000);
  const claims = { iss: federation.self, aud: peer.cloud, iat, exp: iat + TTL_S, jti: randomUUID() };
  const { kid, signer } = federation.signingKey;
  return `Bearer ${await signCompactJws(signer, { kid, typ: PEER_JWT_TYPE }, JSON.stringify(claims))}`;
}

const claimsSchema = z.object({ iss: z.string(), aud: z.string(), iat: z.int(), exp: z.int() });

/**
 * The peer an `Authorization` header proves, if any.
 *
 * @throws UnauthenticatedError when it is missing, not signed by a peer's relay key, not for this cloud, or expired.
 */
export async function authenticatePeer(
  authorization: string | undefined,
  federation: Federation,
  now = Date.now(),
): Promise<RelayPeer> {
  const token = /^Bearer ([A-Za-z0-9._-]{1,8192})$/.exec(authorization ?? '')?.[1];
  if (!token)
    throw new UnauthenticatedError('a peer control plane signs its requests: send Authorization: Bearer');
  let found: ReturnType<typeof peerKey>;
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== 'ES256' || header.typ !== PEER_JWT_TYPE) throw new Error('not a peer token');
    found = peerKey(federation, header.kid);
  } catch {
    found = undefined;
  }
  if (!found) throw new UnauthenticatedError('the token is not signed by a peer control plane');
  try {
    const { payload } = await compactVerify(token, await relayVerifyKey(found.key), {
      algorithms: ['ES256'],
    });
    const claims = claimsSchema.parse(JSON.parse(new TextDecoder().decode(payload)));
    const t = Math.floor(now / 1000);
    if (claims.iss !== found.peer.cloud || claims.aud !== federation.self)
      throw new Error('wrong iss or aud');
    if (claims.exp <= t || claims.iat > t + SKEW_S || claims.exp - claims.iat > TTL_S)
      throw new Error('expired');
  } catch (cause) {
    throw new UnauthenticatedError('the peer token does not verify, is for another cloud, or has expired', {
      cause,
    });
  }
  return found.peer;
}
